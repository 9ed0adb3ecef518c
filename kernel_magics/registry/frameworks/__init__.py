"""Flavours for models of other frameworks: XGBoost, LightGBM and ONNX.

Each framework's trained model is kept in the library's own *data* format (XGBoost JSON,
LightGBM model text, an ONNX protobuf), never a pickle, beside a small ``model_info.json``
(feature names, class labels, task); one sha256 covers both files. Loading parses the bytes
in Python and checks their structure before the library sees them, because these libraries
do not: a crafted tree index crashes or hangs the process (see each format's module).

The loaded model is a :class:`~.predictor.FrameworkModel`: scikit-learn's verbs
(``predict``, ``predict_proba``, ``classes_``, ``feature_names_in_``), so training
evaluation, deployments, batch scoring and monitoring treat it like any estimator. How a
framework's raw output becomes probabilities (a booster's P(class 1), margins, softmax) is
the flavour's business, never the deployment's.
"""
