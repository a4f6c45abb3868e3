"""The caching appliance's DNS server, Unbound: its settings (``contract``) and its
configuration file (``conf``), shared by burrow-launch, the dns-agent and Central."""
