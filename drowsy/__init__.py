"""drowsy: real-time drowsiness detection from a webcam, a video file or a stream.

The runtime (capture → landmarks → crop → classify → PERCLOS) needs only numpy,
opencv, mediapipe and onnxruntime; the training side imports torch inside its own modules.
"""

__version__ = "0.1.0"
