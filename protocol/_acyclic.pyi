from typing import TypeVar

_T = TypeVar("_T")

def untracked(obj: _T, /) -> _T: ...
