"""What drives the core: the SQLite store, the durable replica, the signature verifier on a
second core, process settings and the command line (and later the Trio daemon and its control
API).  Drivers import the core, never the other way round.
"""
