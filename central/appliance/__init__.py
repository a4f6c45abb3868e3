"""This appliance's own backups (issue 7): pairing with a peer Central, status, back up now,
the list of its snapshots on the peer, export, and "use as a new appliance"."""
