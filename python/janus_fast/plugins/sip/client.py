"""``JanusSipPlugin``: one handle with every SIP request.

Rule: nothing but the composition lives here: the account requests (``account``) and the call
requests (``call``) on the shared handle state (``base``).
"""

from __future__ import annotations

from janus_fast.plugins.sip.call import SipCall


class JanusSipPlugin(SipCall):
    """Janus SIP client: all 17 requests of Janus 1.1 as methods."""
