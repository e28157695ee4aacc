"""urn:ietf:params:jmap:vacationresponse: the VacationResponse singleton and RFC 3834 auto-replies (RFC 8621 §8)."""
