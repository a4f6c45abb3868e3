"""The appliance-agent's and the restore receiver's contract (``contract``) and Central's
typed client of the appliance-agent (``client``)."""
