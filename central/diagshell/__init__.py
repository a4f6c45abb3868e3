"""Access to an appliance's read-only diagnostic shell: the ``diag`` password and keys."""
