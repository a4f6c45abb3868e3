"""The DHCP model shared by Central and the dhcp-agent: scopes, options, classes, server settings.

``contract`` holds the wire models, ``client`` the typed client of the dhcp-agent's API (Central
uses it), ``options`` the option types and Kea's standard option definitions, ``kea`` the
translation between the model and Kea's JSON configuration, and ``checks`` the validation of a
change against a whole configuration.
"""
