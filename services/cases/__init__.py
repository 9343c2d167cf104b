"""Cases: obstacles and other matters that a TKSK or Dissos caseworker must own until resolved."""

from services.cases.opening import OpenedCase, open_case, tksk_account_of

__all__ = ["OpenedCase", "open_case", "tksk_account_of"]
