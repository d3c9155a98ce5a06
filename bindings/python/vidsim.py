"""vidsim.py - a ctypes binding over the vidsim shared library (libvidsim.so).

Open an index, add videos, search (with copied segments), compare two videos, read
feature files; results are plain Python objects (dicts and lists), feature arrays are
numpy arrays when numpy is installed. Nothing to build: it loads libvidsim.so from
VIDSIM_LIB, next to this file, the build folder of the checkout, or the system library
path. docs/bindings.md; the C side is include/vidsim/bindings.h.

    import vidsim
    with vidsim.Index("myindex", create=True) as idx:
        idx.add(["a.mp4", "b.mp4"])
        for hit in idx.search("copy.mp4", top=5, segments=True)["hits"]:
            print(hit["ref_id"], hit["score"], hit.get("segments"))
    print(vidsim.compare("a.mp4", "copy.mp4")["score"])
"""
import ctypes
import ctypes.util
import json
import os

__all__ = ["VidsimError", "Index", "compare", "load_features", "version", "library_path"]

_VS_INDEX_CREATE = 1
_VS_INDEX_READONLY = 2


class VidsimError(RuntimeError):
    """A library call failed; the message names the file and the reason."""


def _find_library():
    env = os.environ.get("VIDSIM_LIB")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.path.join(here, "libvidsim.so"),
                 os.path.join(here, "..", "..", "build", "libvidsim.so")):
        if os.path.exists(cand):
            return cand
    found = ctypes.util.find_library("vidsim")
    if found:
        return found
    raise VidsimError("libvidsim.so not found: set VIDSIM_LIB, or build it (scripts/setup.sh) "
                      "or install it (cmake --install)")


_lib = None
_path = None


def _L():
    global _lib, _path
    if _lib is not None:
        return _lib
    _path = _find_library()
    lib = ctypes.CDLL(_path)
    vp, cp, ip = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    pp = ctypes.POINTER(ctypes.c_void_p)
    sig = {
        "vs_version": (cp, []),
        "vs_last_error": (cp, []),
        "vs_free": (None, [vp]),
        "vs_index_open": (ip, [pp, cp, ip]),
        "vs_index_close": (None, [vp]),
        "vs_index_json": (ip, [vp, pp]),
        "vs_index_add_json_calib": (ip, [vp, ctypes.POINTER(cp), ip, ip, cp, cp, cp, ip, pp]),
        "vs_search_params_new": (vp, []),
        "vs_search_params_free": (None, [vp]),
        "vs_search_params_set": (ip, [vp, cp, cp]),
        "vs_search_params_check": (ip, [vp]),
        "vs_searcher_create": (ip, [pp, vp, vp]),
        "vs_searcher_free": (None, [vp]),
        "vs_searcher_query": (ip, [vp, cp, pp]),
        "vs_search_result_json": (ip, [vp, pp]),
        "vs_search_result_free": (None, [vp]),
        "vs_compare_json": (ip, [cp, cp, vp, cp, pp]),
        "vs_features_load": (ip, [pp, cp]),
        "vs_features_free": (None, [vp]),
    }
    for name, (res, args) in sig.items():
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args
    _lib = lib
    return lib


def library_path():
    """The shared library in use."""
    _L()
    return _path


def version():
    return _L().vs_version().decode()


def _b(s):
    return os.fsencode(s) if not isinstance(s, bytes) else s


def _check(status, what=""):
    if status != 0:
        msg = _L().vs_last_error().decode("utf-8", "replace")
        raise VidsimError(f"{what}: {msg}" if what else msg)


def _json(status, out, what=""):
    _check(status, what)
    try:
        text = ctypes.cast(out, ctypes.c_char_p).value.decode("utf-8", "replace")
    finally:
        _L().vs_free(out)
    return json.loads(text)


class _Params:
    """vs_search_params set by name (bindings.h)."""

    def __init__(self, **kw):
        self.p = _L().vs_search_params_new()
        if not self.p:
            raise VidsimError("out of memory")
        for k, v in kw.items():
            if v is None:
                continue
            if isinstance(v, bool):
                v = int(v)
            _check(_L().vs_search_params_set(self.p, _b(k), _b(str(v))), f"search parameter {k}")

    def close(self):
        if self.p:
            _L().vs_search_params_free(self.p)
            self.p = None

    def __del__(self):
        self.close()


class Index:
    """A vidsim index folder (catalogue + feature files)."""

    def __init__(self, path, create=False, readonly=False, models=None):
        self.path = os.fspath(path)
        self.models = models or os.environ.get("VIDSIM_MODELS")
        flags = _VS_INDEX_CREATE if create else (_VS_INDEX_READONLY if readonly else 0)
        h = ctypes.c_void_p()
        _check(_L().vs_index_open(ctypes.byref(h), _b(self.path), flags), self.path)
        self._h = h

    def close(self):
        if getattr(self, "_h", None):
            _L().vs_index_close(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def info(self):
        """{"model_id", "fps", "n_ok", "n_failed", "videos": [...]}"""
        out = ctypes.c_void_p()
        return _json(_L().vs_index_json(self._h, ctypes.byref(out)), out, self.path)

    def videos(self):
        return self.info()["videos"]

    def add(self, paths, jobs=1, backbone=None, background=True, precision=None, calib=None):
        """Add videos (list of paths). Returns {"added", "replaced", "unchanged", "failed",
        "videos": [{"path", "outcome", "error"}]}; a failed video is reported, not raised.
        backbone ("inception" or "mobilenet") and precision ("fp32", "int8", "bf16"), as
        `vidsim index add`: by default those of the index's model id; for a new index
        inception, int8 on a CPU with VNNI/AMX (else fp32; mobilenet fp32). Naming one that
        differs from the index's raises VidsimError. calib (`index add --calib FILE`): the
        int8 calibration file from `vidsim calibrate` (default: the bundled one), part of
        an int8 model id, so later adds and video queries (search(calib=)) need the same
        file; one that gives another model id than the index's, or a missing or damaged
        file, raises VidsimError naming it. Not read for fp32 or bf16."""
        if isinstance(paths, (str, bytes, os.PathLike)):
            paths = [paths]
        arr = (ctypes.c_char_p * max(len(paths), 1))(*[_b(os.fspath(p)) for p in paths])
        out = ctypes.c_void_p()
        models = _b(self.models) if self.models else None
        if precision is not None:
            if backbone is None:  # the index's backbone ("inception_v3-int8/224/..."), else inception
                backbone = (self.info().get("model_id") or "").split("/")[0].split("-")[0] or "inception"
            backbone = f"{backbone}-{precision}"  # as in model ids: "inception-fp32"
        st = _L().vs_index_add_json_calib(self._h, arr, len(paths), int(jobs), _b(backbone) if backbone else None,
                                          models, _b(os.fspath(calib)) if calib is not None else None,
                                          0 if background else 1, ctypes.byref(out))
        return _json(st, out, self.path)

    def search(self, query, top=10, threshold=None, segments=False, normalize=True, symmetric=True,
               model=None, mode=None, two_stage_k=None, threads=1, hash_model=None, first_stage=None,
               gvec_segments=None, mirror_view=None, inset_view=None, sim_precision=None, pca=None,
               store_gvec=None, calib=None, temporal=None, frame_levels=None, gvec_whiten=None):
        """Search one query (an indexed name, a .vsf feature file or a video file).
        Returns {"query_id", "hits": [{"ref_id", "video_id", "score", "raw", "query_level",
        "ref_level", "segments"?}], ...}. The options are `vidsim search`'s, named as the keys
        of vs_search_params_set (bindings.h; None: the library's default, the CLI's):
        top (--top), threshold (--threshold: a number or p90/p95/p99), segments (--segments),
        normalize (--norm), symmetric (--direction sym/q2r), model (--model, also
        "clip[:MODEL]" with mode="clip"), mode ("exhaustive", "two_stage" = --two-stage,
        "hash_only" = --hash-only, "clip"), two_stage_k (--top-k), threads (-j),
        hash_model (--hash-model), first_stage ("hash", "gvec" or "gvec:SPEC" = --first-stage;
        implies mode "two_stage" when no mode is given, as the CLI), gvec_segments
        (--gvec-segments, 1-64, with a gvec first stage), gvec_whiten (--gvec-whiten: a
        file or "off", with a gvec first stage), mirror_view and inset_view
        (True/False or "on"/"off" = --mirror-view, --inset-view; on by default),
        sim_precision ("bf16" or "fp32" = --sim-precision), temporal (0..1 = --temporal),
        frame_levels (0..1 = --frame-levels), pca (--pca), calib (--calib: the
        int8 calibration file the index was added with, for video queries), store_gvec
        (--store-gvec with a gvec first stage, --store with mode "clip": the index must be
        writable). A bad value raises VidsimError naming the option; which options go
        together (segments not with mode "hash_only" or "clip", gvec_segments and store_gvec
        with a gvec first stage, first_stage with mode "two_stage" or "hash_only", ...) is
        the library's vs_search_params_check, whose message names the option too."""
        return self.search_many([query], top=top, threshold=threshold, segments=segments,
                                normalize=normalize, symmetric=symmetric, model=model, mode=mode,
                                two_stage_k=two_stage_k, threads=threads, hash_model=hash_model,
                                first_stage=first_stage, gvec_segments=gvec_segments,
                                mirror_view=mirror_view, inset_view=inset_view,
                                sim_precision=sim_precision, pca=pca, calib=calib, store_gvec=store_gvec,
                                temporal=temporal, frame_levels=frame_levels, gvec_whiten=gvec_whiten)[0]

    # search options and their defaults (None: the library's); the keys of vs_search_params_set
    _SEARCH_OPTIONS = {"top": 10, "threshold": None, "segments": False, "normalize": True, "symmetric": True,
                       "model": None, "mode": None, "two_stage_k": None, "threads": 1, "hash_model": None,
                       "first_stage": None, "gvec_segments": None, "mirror_view": None, "inset_view": None,
                       "sim_precision": None, "pca": None, "calib": None, "store_gvec": None, "temporal": None,
                       "frame_levels": None, "gvec_whiten": None}

    def search_many(self, queries, **kw):
        """Search several queries with one searcher (the corpus is loaded once); the options
        of search(). An unknown option raises TypeError."""
        unknown = sorted(set(kw) - set(self._SEARCH_OPTIONS))
        if unknown:
            raise TypeError(f"search: unknown option(s) {', '.join(unknown)}")
        o = dict(self._SEARCH_OPTIONS)
        o.update((k, v) for k, v in kw.items() if v is not None or self._SEARCH_OPTIONS[k] is None)
        # as the CLI's --first-stage: implies --two-stage (which options go together is
        # the library's vs_search_params_check, below)
        if o["first_stage"] is not None and o["mode"] is None:
            o["mode"] = "two_stage"
        for k in ("mirror_view", "inset_view", "normalize", "symmetric", "segments", "store_gvec"):
            if o[k] is not None and not isinstance(o[k], (bool, int, str)):
                raise VidsimError(f"search parameter {k}: True/False or \"on\"/\"off\", got {o[k]!r}")
        p = _Params(models_dir=self.models, **o)
        s = ctypes.c_void_p()
        try:
            if _L().vs_search_params_check(p.p) != 0:
                # the library names the fields; store_clip is set by store_gvec here
                msg = _L().vs_last_error().decode("utf-8", "replace")
                if msg.startswith("store_clip"):
                    msg = "store_gvec" + msg[len("store_clip"):]
                raise VidsimError(f"search parameters: {msg}")
            _check(_L().vs_searcher_create(ctypes.byref(s), self._h, p.p), self.path)
            results = []
            for q in queries:
                r = ctypes.c_void_p()
                _check(_L().vs_searcher_query(s, _b(os.fspath(q)), ctypes.byref(r)), os.fspath(q))
                try:
                    out = ctypes.c_void_p()
                    results.append(_json(_L().vs_search_result_json(r, ctypes.byref(out)), out))
                finally:
                    _L().vs_search_result_free(r)
            return results
        finally:
            if s:
                _L().vs_searcher_free(s)
            p.close()


def compare(a, b, segments=True, symmetric=True, model=None, models=None):
    """Similarity of two videos or .vsf feature files (raw score, both directions, and the
    copied segments): {"a", "b", "score", "a_to_b", "b_to_a", "segments"}."""
    p = _Params(segments=segments, symmetric=symmetric, model=model)
    try:
        out = ctypes.c_void_p()
        models = models or os.environ.get("VIDSIM_MODELS")
        st = _L().vs_compare_json(_b(os.fspath(a)), _b(os.fspath(b)), p.p, _b(models) if models else None,
                                  ctypes.byref(out))
        return _json(st, out, f"{os.fspath(a)} vs {os.fspath(b)}")
    finally:
        p.close()


class _Features(ctypes.Structure):
    # the leading fields of vs_features (include/vidsim/features.h)
    _fields_ = [("T", ctypes.c_int), ("R", ctypes.c_int), ("D", ctypes.c_int),
                ("data", ctypes.POINTER(ctypes.c_float)), ("times", ctypes.POINTER(ctypes.c_float)),
                ("fps", ctypes.c_double), ("duration", ctypes.c_double), ("model_id", ctypes.c_char * 64)]


def load_features(path):
    """A .vsf feature file: {"T", "R", "D", "fps", "duration", "model_id", "data", "times"};
    data is a numpy array [T, R, D] (float32) when numpy is installed, else nested lists."""
    h = ctypes.c_void_p()
    _check(_L().vs_features_load(ctypes.byref(h), _b(os.fspath(path))), os.fspath(path))
    try:
        f = ctypes.cast(h, ctypes.POINTER(_Features)).contents
        T, R, D = f.T, f.R, f.D
        flat = f.data[:T * R * D]
        times = f.times[:T]
        out = {"T": T, "R": R, "D": D, "fps": f.fps, "duration": f.duration,
               "model_id": f.model_id.decode("utf-8", "replace")}
        try:
            import numpy as np
            out["data"] = np.array(flat, dtype=np.float32).reshape(T, R, D)
            out["times"] = np.array(times, dtype=np.float32)
        except ImportError:
            out["data"] = [[flat[(t * R + r) * D:(t * R + r + 1) * D] for r in range(R)] for t in range(T)]
            out["times"] = list(times)
        return out
    finally:
        _L().vs_features_free(h)
