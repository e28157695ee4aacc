"""Fixtures every area of the suite shares."""

# The recording SMTP relay of one test (submission, vacation, calendar
# scheduling); defined once, in the submission plugin's testing module.
from jmapd_submission.testing import relay  # noqa: F401
