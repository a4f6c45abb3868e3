"""diag-shell: the appliance's read-only diagnostic shell over SSH."""

import sys

# paramiko's ssh_config parser imports invoke (6 MB resident) for "Match exec" lines. The shell
# reads no ssh_config, so the import is refused before paramiko is loaded and paramiko goes
# without it (it would only refuse such a Match line).
sys.modules.setdefault("invoke", None)  # type: ignore[arg-type]
