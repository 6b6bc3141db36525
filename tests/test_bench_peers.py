"""A peer of the inference benchmark that cannot run (OpenCV 5.1's dnn cannot read the TensorFlow
.pb; an onnxruntime that cannot load the export) is one line of its report, not a traceback that
stops the benchmark."""

import importlib.util
import sys
import types
from pathlib import Path

from lapsrn_edu.models import LapSRN

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_inference.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_inference", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_opencv_that_cannot_read_the_pb_is_one_line(tmp_path, monkeypatch):
    class CvError(Exception):
        pass

    class Impl:
        def readModel(self, path):
            raise CvError(
                "OpenCV(5.1.0) /io/opencv/modules/dnn/src/tensorflow/tf_importer.cpp:123: error: (-2:Unspecified "
                "error)\n"
                "Can't read the TensorFlow graph in function 'readNetFromTensorflow'"
            )

    fake = types.SimpleNamespace(
        __version__="5.1.0",
        error=CvError,
        setNumThreads=lambda n: None,
        dnn_superres=types.SimpleNamespace(DnnSuperResImpl_create=Impl),
    )
    monkeypatch.setitem(sys.modules, "cv2", fake)
    (tmp_path / "pretrained" / "opencv").mkdir(parents=True)
    (tmp_path / "pretrained" / "opencv" / "LapSRN_x4.pb").write_bytes(b"not a graph")
    monkeypatch.setenv("LAPSRN_EDU_DATA", str(tmp_path))
    model, reason = load_bench().opencv_model(4, 1)
    assert model is None and "\n" not in reason
    assert reason.startswith("OpenCV 5.1.0 cannot run LapSRN_x4.pb") and "readNetFromTensorflow" in reason


def test_an_onnxruntime_that_cannot_load_the_export_is_one_line(tmp_path, monkeypatch):
    class Refusing:
        __version__ = "9.9.9"

        class SessionOptions:
            pass

        @staticmethod
        def InferenceSession(*args, **kwargs):
            raise RuntimeError("[ONNXRuntimeError] : 10 : INVALID_GRAPH : This is an invalid model.\nmore detail")

    monkeypatch.setitem(sys.modules, "onnxruntime", Refusing)
    bench = load_bench()
    monkeypatch.setattr(bench.torch.onnx, "export", lambda *a, **k: None)
    session, reason = bench.onnx_session(LapSRN(scale=4, depth=1, channels=4), str(tmp_path), 1)
    assert (
        session is None and "\n" not in reason and reason.startswith("onnxruntime 9.9.9 cannot run the exported model")
    )
