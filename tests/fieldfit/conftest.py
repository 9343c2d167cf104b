"""The field-fit tests (#17) use the people of the case tests: Siti (recipient, Palaran) and her TKSK
Nurhayati, another recipient, TKSK, PSM and Dinas Sosial staff."""

from tests.cases.conftest import people, settings, world  # noqa: F401  (fixtures)
from tests.reports.conftest import region  # noqa: F401  (fixture: two kabupaten, TKSK Tini and Udin)
