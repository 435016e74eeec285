"""Outputs of a graded kernel capped and truncated as they arrive, in the grading process.

:class:`CappedOutputs` is mixed into the executing preprocessor (``TrustedExecute``): every
message from the kernel is measured before nbclient stores it; past ``max_message_bytes`` (one
message) or ``max_output_bytes`` (the whole notebook) its text is cut, its other formats and
metadata dropped, widget messages dropped, and the cell gets one line saying so. Captured answers
(:data:`~mlsyslab.grading.answers.ANSWERS_MIME`) pass while they are small (their own cap is the
rubric's). So a notebook printing 3 x 100 MB keeps at most ``max_output_bytes`` of output in the
grader and in the autograded notebook.
"""

from __future__ import annotations

from traitlets import Integer
from traitlets.config import Configurable

from .answers import ANSWERS_MIME

NOTE = "[output truncated by the grader: past its size limit]"
ANSWERS_MAX = 64 * 1024
#: captured answers kept past the output cap, in all, bytes
ANSWERS_TOTAL = 2 * 2**20


def _size(value, limit: int) -> int:
    """Approximate bytes of a message's content (strings and buffers), counting stops past ``limit``."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, (str, bytes, bytearray, memoryview)):
            total += len(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            total += 8
    return total


class CappedOutputs(Configurable):
    """Mixin for an nbclient ``NotebookClient`` (nbgrader's Execute): bounded outputs per message and notebook."""

    max_message_bytes = Integer(2 * 2**20, help="Largest output message kept whole, bytes.").tag(config=True)
    max_output_bytes = Integer(16 * 2**20, help="Outputs kept for the whole notebook, bytes.").tag(config=True)

    _used = _answers_used = 0
    _noted: set = set()

    def preprocess(self, nb, resources, *args, **kwargs):
        self._used, self._answers_used, self._noted = 0, 0, set()
        return super().preprocess(nb, resources, *args, **kwargs)

    def process_message(self, msg, cell, cell_index):
        msg_type = msg.get("msg_type") or msg.get("header", {}).get("msg_type", "")
        if msg_type in ("status", "execute_input", "clear_output", "execute_reply"):
            return super().process_message(msg, cell, cell_index)
        content = msg.get("content") or {}
        room = max(0, min(self.max_message_bytes, self.max_output_bytes - self._used))
        size = _size(content, room) + sum(len(b) for b in msg.get("buffers") or [])
        if size <= room:
            self._used += size
            return super().process_message(msg, cell, cell_index)
        msg.pop("buffers", None)
        if msg_type.startswith("comm"):  # widget state past the cap: dropped
            self._note(cell, cell_index)
            return None
        cut = self._cut(msg_type, content, room)
        msg["content"] = cut
        self._used += _size(cut, self.max_message_bytes)
        out = super().process_message(msg, cell, cell_index)
        self._note(cell, cell_index)
        return out

    def _cut(self, msg_type: str, content: dict, room: int) -> dict:
        keep = max(0, room - 200)
        if msg_type == "stream":
            return {"name": str(content.get("name", "stdout"))[:10], "text": str(content.get("text", ""))[:keep]}
        if msg_type == "error":
            return {"ename": str(content.get("ename", ""))[:200], "evalue": str(content.get("evalue", ""))[:keep],
                    "traceback": []}
        data = content.get("data") if isinstance(content.get("data"), dict) else {}
        new = {"text/plain": str(data.get("text/plain", ""))[:keep]}
        answers = data.get(ANSWERS_MIME)
        if answers is not None:
            size = _size(answers, ANSWERS_MAX)
            if size <= ANSWERS_MAX and self._answers_used + size <= ANSWERS_TOTAL:
                self._answers_used += size
                new[ANSWERS_MIME] = answers
        out = {"data": new, "metadata": {}}
        for key in ("execution_count", "transient"):
            if key in content:
                out[key] = content[key]
        return out

    def _note(self, cell, cell_index: int) -> None:
        if cell_index in self._noted:
            return
        self._noted.add(cell_index)
        from nbformat.v4 import new_output

        cell.setdefault("outputs", []).append(new_output("stream", name="stderr",
                                                         text=NOTE + "\n"))
