"""The people of the case tests (a recipient in Palaran with her TKSK and a PSM, a TKSK of Loa Janan, Dissos
staff), reused: monitoring is done by the same people."""

from tests.cases.conftest import people, settings, world  # noqa: F401  (fixtures)
