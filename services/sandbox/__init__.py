"""The development sandbox: one whole appliance in its own network namespace and state root."""
