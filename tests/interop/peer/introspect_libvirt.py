"""Dump a libvirt-python-like module's surface as JSON: classes (with inherited methods), module
functions, VIR_* constants, and inspect.signature parameters/defaults. Run with any Python."""

import importlib
import inspect
import json
import sys

modname = sys.argv[1] if len(sys.argv) > 1 else "libvirt"
m = importlib.import_module(modname)


def sig(f):
    try:
        s = inspect.signature(f)
    except (TypeError, ValueError):
        return None
    out = []
    for p in s.parameters.values():
        d = None if p.default is inspect.Parameter.empty else repr(p.default)
        out.append([p.name, d, p.kind.name])
    return out


res = {"classes": {}, "functions": {}, "constants": {}, "other": []}
for name in dir(m):
    if name.startswith("_"):
        continue
    obj = getattr(m, name)
    if inspect.isclass(obj):
        if getattr(obj, "__module__", None) != m.__name__ or name.startswith("_"):
            continue
        meths = {}
        for mn, mo in (
            (k, getattr(obj, k))
            for k in dir(obj)
            if k in vars(obj) or any(k in vars(b) for b in obj.__mro__[1:-1])
        ):
            if mn.startswith("_") and mn not in (
                "__init__",
                "__enter__",
                "__exit__",
                "__del__",
                "__iter__",
                "__next__",
            ):
                continue
            if callable(mo) or isinstance(mo, (staticmethod, classmethod)):
                meths[mn] = sig(mo)
        bases = [b.__name__ for b in obj.__mro__[1:]]
        res["classes"][name] = {"methods": meths, "bases": bases}
    elif inspect.isfunction(obj) or inspect.isbuiltin(obj):
        if getattr(obj, "__module__", None) not in (m.__name__,):
            continue
        res["functions"][name] = sig(obj)
    elif isinstance(obj, (int, str)) and not isinstance(obj, bool) and name.startswith("VIR_"):
        res["constants"][name] = obj
    else:
        res["other"].append([name, type(obj).__name__])
res["public"] = sorted(n for n in dir(m) if not n.startswith("_"))
json.dump(res, sys.stdout, indent=0, sort_keys=True)
