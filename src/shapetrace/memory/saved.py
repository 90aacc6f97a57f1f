"""What autograd saves for the backward, storage by storage, attributed to module calls.

``torch.autograd.graph.saved_tensors_hooks`` sees every tensor a node saves (the PyTorch
docs page "Hooks for saved tensors"). A storage is counted once however many views of it
are saved (``untyped_storage()`` identity: a view shares its base's storage, an in-place op
keeps it), and parameter and buffer storages are left out (they are in ``params``). A
storage is attributed to the innermost module call running when it is first saved.
"""

from __future__ import annotations

import weakref


class SavedCounter:
    """The pack hook's bookkeeping. Holds no reference to a saved tensor (that would keep
    it alive past the backward and change the peak)."""

    def __init__(self, state, excluded: set[int]) -> None:
        self.state = state  # the step's shared state: phase and the innermost row
        self.excluded = excluded  # storage ids of parameters and buffers
        self.alive: set[int] = set()  # saved storages not yet freed
        self.total = 0

    def pack(self, t):
        if self.state.phase == "forward":  # a checkpoint's recompute in the backward is not a save
            s = t.untyped_storage()
            key = s._cdata
            if key not in self.excluded and key not in self.alive:
                n = int(s.nbytes())
                self.alive.add(key)
                # a freed storage's id can be reused by a new one: forget it when it dies
                weakref.finalize(s, self.alive.discard, key)
                self.total += n
                row = self.state.current_row()
                if row is not None:
                    row.saved += n
        return t

    @staticmethod
    def unpack(t):
        return t
