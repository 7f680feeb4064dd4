"""A software prefetch for compiled loops: ``prefetch(array, i)`` asks the CPU to bring
``array[i]``'s cache line closer without waiting for it.

The candidate re-rank reads a few hundred rows scattered over the frequent-term matrix, one
after another; a row's loop is long enough that the out-of-order window cannot reach the
next row's loads, so each row's first reads wait on memory in turn. Asking for the rows a
few candidates ahead overlaps those waits (README "Scale" gives the measured gain). A
prefetch never faults and changes no value, so an index past the end is harmless and every
result is the same with or without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import llvmlite.binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

# LLVM names the intrinsic by its pointer type: opaque pointers (LLVM 15 on) or i8*.
_NAME = "llvm.prefetch.p0" if llvm.llvm_version_info[0] >= 15 else "llvm.prefetch.p0i8"


@intrinsic
def _prefetch(typingctx: Any, array: Any, index: Any) -> Any:
    """Prefetch ``array[index]`` (a 1-d array) for reading, into every cache level."""
    if not isinstance(array, types.Array) or array.ndim != 1 \
            or not isinstance(index, types.Integer):
        return None
    sig = types.void(array, index)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer2(
            context, builder, ary.data, cgutils.unpack_tuple(builder, ary.shape),
            cgutils.unpack_tuple(builder, ary.strides), aryty.layout, [args[1]],
            wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), _NAME)
        # read (0), keep in all levels (3), data cache (1)
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


# As compiled code calls it (numba's typing context is its own first argument).
prefetch = cast(Callable[[Any, Any], None], _prefetch)
