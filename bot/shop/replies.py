"""What the shop logic hands back to an action: which phrases to send, with which slots.

Logic in bot/ decides; actions/ only send. Keeping sentences out of the logic means the same
decision can be shown to an agent as a suggestion or sent by the bot, in any phrasing the
shop chooses in responses/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional

from bot.store.models import HandoffReason


@dataclass(frozen=True)
class Reply:
    phrase_id: str
    slots: Dict[str, object] = field(default_factory=dict)
    # Set when the logic decides a person must take over (e.g. compensation beyond the limit).
    handoff_reason: Optional[HandoffReason] = None
