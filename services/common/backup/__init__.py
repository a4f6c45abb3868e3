"""The backup format shared by the producing appliance and the peer Central that stores it.

``chunking``  content-defined chunking of file contents (average about 8 KiB)
``format``    chunk names, hash-list pages and top lists, the manifest, ``walk``, zlib deltas
``bundle``    the one-file form of a snapshot (export, restore push, ``burrow-restore``)

These functions are a contract between two sides (services/appliance/backup and
central/backups): change them only together with both.
"""
