"""The agent desk: users and sign-in, agent presence, and the console at ``/console/``.

Importing this package registers its tables; ``views.bp`` is the console.
"""

from ivr.desk import models  # noqa: F401  (registers the tables)
