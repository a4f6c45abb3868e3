"""The appliance's side of backups and restore (issue 7).

``state``     appliance-state.json: uninitialized / active / restoring, id and restore code
``paths``     where the backup producer keeps its files
``collect``   what a backup holds, read into content-addressed chunks (with a stat cache)
``peer``      the HTTPS client of the peer Central (pinned certificate, ``Backup`` credential)
``pairing``   pairing with a peer (``PUT /backup/peer`` from Central, first-boot setting)
``producer``  triggers, outbox, sending with deltas, back-off, ``backup-status.json``
``api``       the appliance-agent's ``/backup/*`` endpoints (called by Central over mTLS)
``receiver``  the restore listener on 4604 (``/identity``, ``/restore``, ``/initialize``)
``apply``     applying a restore bundle: stop, write, network, restart, wait, active
"""
