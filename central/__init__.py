"""Central: Burrow's management server (REST API, users and roles, history, backups store).

Its data models (pydantic) build their validators and serializers when first used, not when
their module is loaded (``defer_build``): Central loads hundreds of models but a given
process uses few of them soon, and building them all was a tenth of its start's CPU time
(a restore waits for Central's start more than for anything else). Every model defined once
this package is imported is deferred so, the shared ones of ``services.common`` included.
"""

from pydantic import BaseModel

BaseModel.model_config["defer_build"] = True
