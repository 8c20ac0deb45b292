"""What rabbitmqctl does that a caller must know, written once for the ctl transport.

Each entry names the RabbitMQ versions it was seen on (3.10.8 and 4.0.5 on this project's nodes).
"""

from __future__ import annotations

import re

#: Words in rabbitmqctl's stderr meaning "no such object" (a delete then reached its goal). 3.10.8 says
#: "not found" / "does not exist"; errors from ``rabbit_*`` modules print ``no_such``/``not_found`` atoms.
NOT_FOUND_MARKERS = ("not found", "does not exist", "no_such", "not_found")
#: Words meaning the node could not be reached at all (``ConnectionFailed``, exit 3).
UNREACHABLE_MARKERS = ("unable to perform an operation on node", "nodedown", "unable to connect to node")


#: ``rabbitmqctl delete_queue --if-empty/--if-unused`` refusals, by ``MessagesArrived`` cause. 3.10.8 exits
#: 64 with "Queue is not empty" / "Queue is in use"; 4.0.5 exits 69 with the channel error,
#: ``{:amqp_error, :precondition_failed, ~c"queue 'q' in vhost 'v' in use", :none}``, its text printed as a
#: list of code points (``[113, 117, ...]``) when the vhost name is not ASCII.
DELETE_QUEUE_REFUSALS = {"not_empty": "not empty", "in_use": "in use"}
_CHARLIST = re.compile(r"\[(\d+(?:,\s*\d+)*)\]")


def delete_queue_refusal(reason: str) -> str | None:
    """The ``MessagesArrived`` cause a conditional ``delete_queue`` error says ("not_empty", "in_use",
    "unknown" for a precondition failure whose words cannot be read), None for any other error."""
    text = reason
    charlist = _CHARLIST.search(reason)
    if charlist is not None:
        text += " " + "".join(chr(int(code)) for code in charlist.group(1).split(","))
    cause = next((c for c, words in DELETE_QUEUE_REFUSALS.items() if words in text.lower()), None)
    return cause or ("unknown" if "precondition_failed" in reason else None)


# ``rabbitmqctl import_definitions`` decodes JSON in the CLI's own VM, where every ``null`` becomes Elixir's
# ``nil``, which the server keeps and reports as the string ``"nil"`` (a global parameter ``null`` or
# ``{"a": null}`` read back as ``"nil"`` / ``{"a": "nil"}``, 3.10.8 and 4.0.5): an object whose JSON holds a
# null (``backend.needs_node_decoding``) is imported by an eval that decodes it on the node
# (``eval.BODIES["import"]``).
