"""What drives the core: the SQLite store, the durable replica, the signature verifier on a
second core, the Trio driver and the daemon, the control API and its client, metrics, process
settings and the command line.  Drivers import the core, never the other way round.
"""
