"""Call overhead: ``x + 1`` on a float64 10-vector, where the call is nearly all the time.

Systems: NumPy (``x + 1``: the ratio's reference), arignote (default mode) with its input
checks and with ``f.trust_input = True`` (Theano's attribute: the caller promises arguments of
the right type, so they are not checked or converted), PyTensor (its default mode, numba in
3.x) checked and trusted, JAX (``jit``, argument already a JAX array, ``block_until_ready``),
PyTorch eager (``x + 1`` on a tensor). Every call is made through a lambda, so that each system
pays the same Python call on top. The issue's targets: arignote at most 1.5 us with input
checks, 0.8 us with ``trust_input``.

    python benchmarks/call_overhead.py            # about 40 s
    python benchmarks/call_overhead.py --quick    # a smoke run
"""

from __future__ import annotations

import argparse

import harness  # first: thread settings before NumPy loads
import numpy as np

SIZE = 10
TARGETS = {"arignote": 1.5e-6, "arignote trust_input": 0.8e-6}


def arignote_functions():
    """The checked and the trusted function, and whether ``trust_input`` is a known attribute
    (an unknown one is set without effect)."""
    import arignote
    import arignote.tensor as T

    x = T.vector("x")
    checked, trusted = arignote.function([x], x + 1), arignote.function([x], x + 1)
    known = hasattr(trusted, "trust_input")
    trusted.trust_input = True
    return checked, trusted, known


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=15, help="blocks per system")
    parser.add_argument("--block-seconds", type=float, default=0.2)
    parser.add_argument("--quick", action="store_true", help="3 short blocks: a smoke run")
    options = parser.parse_args()
    if options.quick:
        options.blocks, options.block_seconds = 3, 0.05
    modules = {name: harness.load(name) for name in harness.COMPETITORS}
    print(harness.describe_machine(modules))

    x = np.random.default_rng(0).standard_normal(SIZE)
    checked, trusted, known = arignote_functions()
    notes = {"arignote trust_input": "" if known else "trust_input unknown to Function: no effect"}
    systems = {
        "numpy": lambda: x + 1,
        "arignote": lambda: checked(x),
        "arignote trust_input": lambda: trusted(x),
    }
    pytensor, jax, torch = modules["pytensor"], modules["jax"], modules["torch"]
    if pytensor is not None:
        import pytensor.tensor as pt

        v = pt.dvector("x")
        p_checked, p_trusted = pytensor.function([v], v + 1), pytensor.function([v], v + 1)
        p_trusted.trust_input = True
        systems["pytensor"] = lambda: p_checked(x)
        systems["pytensor trust_input"] = lambda: p_trusted(x)
        notes["pytensor"] = f"mode {pytensor.config.mode}: {type(p_checked.maker.linker).__name__}"
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
        jx = jax.numpy.asarray(x)
        add_one = jax.jit(lambda v: v + 1)
        systems["jax jit"] = lambda: add_one(jx).block_until_ready()
    if torch is not None:
        tx = torch.from_numpy(x)
        systems["torch eager"] = lambda: tx + 1
    expected = x + 1
    for name, call in systems.items():
        np.testing.assert_allclose(np.asarray(call()), expected, rtol=0, atol=0, err_msg=name)
    print(f"results agree with NumPy for: {', '.join(systems)}")
    print(harness.report_summary(checked))

    timings = harness.alternate(systems, options.blocks, options.block_seconds)
    targets = {name: f"<= {limit * 1e6:.1f} us" for name, limit in TARGETS.items()}
    rows = harness.timing_rows(
        "call overhead x + 1", f"{SIZE}-vector float64", timings, targets, notes
    )
    print(f"\nmedian of {options.blocks} blocks of {options.block_seconds} s, systems alternating")
    harness.print_table(rows)
    for name, limit in TARGETS.items():
        print(
            harness.verdict(
                f"target {name} (median)", timings[name].median * 1e6, limit * 1e6, " us"
            )
        )
        print(
            harness.verdict(
                f"target {name} (best block)", timings[name].best * 1e6, limit * 1e6, " us"
            )
        )


if __name__ == "__main__":
    main()
