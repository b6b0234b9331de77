"""How bytes move between BitCraps Mesh nodes: UDP, BLE and in-memory links.

A transport moves datagrams between addresses and knows nothing of ledgers.
"""
