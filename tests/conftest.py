"""Every test runs under the profile HYPOTHESIS_PROFILE names (``make test`` sets ``ci``)."""

from core.profiles import load_selected_profile

load_selected_profile()
