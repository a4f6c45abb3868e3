"""diag-shell: the appliance's read-only diagnostic shell over SSH."""
