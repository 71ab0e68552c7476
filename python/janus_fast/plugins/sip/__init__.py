"""The SIP client: ``JanusSipPlugin``, its errors and events.

Rule: every SIP request of Janus 1.1 is a method, and the signalling works without aiortc. The
package splits the handle by job: ``base`` (errors, events, the account and call state),
``account`` (register, subscribe, message …), ``call`` (call, accept, hold, transfer …) and
``client`` (the composed class). Import the public names from here.
"""

from janus_fast.plugins.sip.account import SipAccount
from janus_fast.plugins.sip.base import SipError, SipEventType, SipHandle
from janus_fast.plugins.sip.call import SipCall
from janus_fast.plugins.sip.client import JanusSipPlugin

__all__ = ["JanusSipPlugin", "SipAccount", "SipCall", "SipError", "SipEventType", "SipHandle"]
