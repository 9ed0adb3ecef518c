"""The five example notebooks of the fraud system, as reviewable cell texts.

``notebooks/build_notebooks.py`` writes them into the repository's ``notebooks/`` folder;
``lakebook demo`` writes them wherever the demo runs (an installed wheel has no repository).
Edit the cells here, rebuild, commit both. Cell ids are fixed (``nb<N>-<n>``) so a rebuild only
changes what changed. Each notebook has a ``parameters`` cell for papermill and for Lakebook's
scheduled runs (which inject ``window_start``/``window_end``).
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

#: The simulated world every notebook shares: same parameters, same transactions.
WORLD_PARAMETERS = '''\
size = 20_000               # transactions in the simulated world (10k .. 10M)
seed = 42                   # same seed, same world: every notebook sees the same transactions
data_start = "2024-01-01"   # first day of the world
days = 90                   # how many days it spans
drift_after = "2024-03-01"  # spending changes after this date (notebook 4 catches it)'''

SETUP = '''\
%load_ext kernel_magics
import pandas as pd
import kernel_magics
from kernel_magics.demo.data import as_utc, generate

lh = kernel_magics.connect()   # $LAKEBOOK_HOME, lakebook.toml, or ./.lakebook
data = generate(size, seed=seed, start=data_start, days=days, drift_after=drift_after)'''


def md(text: str) -> dict:
    return ("md", text.strip("\n"))


def code(text: str, tags: list[str] | None = None) -> dict:
    return ("code", text.strip("\n"), tags or [])


def params(text: str) -> dict:
    return code(text, ["parameters"])


# --------------------------------------------------------------------------------------------
FEATURES = [
    md('''
# 1 · Feature pipeline: card transactions in, features out

This is the first of four notebooks that build a **credit-card fraud detection system** with
Lakebook: features (this notebook), training (2), inference (3) and monitoring (4) — the
*F-T-I* pipelines. Run them in order, top to bottom. A fifth, `5_similarity.ipynb`, adds
embeddings and similarity search on the same world's merchants.

The bank's transaction stream is simulated by a deterministic generator
(`kernel_magics.demo.data`): customers with a home, their cards, merchants with a category and a
location, and months of transactions with realistic amounts, daily and weekly seasonality, and
about 1.5 % fraud in three patterns — bursts of small online charges (card testing), purchases in
a city far from home, and large night-time purchases at risky merchants.

A cell that starts with `%%feature NAME` runs as ordinary Python, and the DataFrame on its
last line is **inserted into the feature group `NAME`** — a versioned Delta table with checks,
statistics and lineage, and (with `--online`) the latest row per key in the online store for
serving. Delete the magic line and the cell still runs as plain pandas.
'''),
    md('''
## Parameters

Lakebook runs this notebook on a schedule with papermill: each run gets a time window
(`window_start` .. `window_end`) injected below this cell and computes only that window. Run by
hand without a window, it computes everything up to the drift date — the initial backfill.
'''),
    params(WORLD_PARAMETERS + '''
window_start = None         # the window this run computes (scheduled runs inject both)
window_end = None'''),
    code(SETUP + '''
from kernel_magics.demo.features import LOOKBACK, card_profiles, transaction_features

window_start = as_utc(window_start or data_start)
window_end = as_utc(window_end or drift_after)
print(f"Computing features for {window_start:%Y-%m-%d %H:%M} .. {window_end:%Y-%m-%d %H:%M} UTC")
data.summary()'''),
    md('''
## The raw data

A glance at the stream for our window: one row per card payment, with the merchant's category
and where the payment happened (for online shops: where the buyer's connection came from).
'''),
    code('''data.transactions_between(window_start, window_end).head()'''),
    md('''
## Card profiles

Slowly changing facts about each card and its holder: age, customer segment, home, credit
limit. The event time is the card's issue date, so a point-in-time join finds the profile for
every transaction made with the card. `--mode upsert` makes a re-run replace rows instead of
duplicating them.
'''),
    code('''
%%feature card_profiles --key cc_num --event-time issued_at --online --mode upsert --description "Card holder profiles"
card_profiles(data.cards, data.customers)'''),
    md('''
## Transaction features

For each transaction, what the card did just before it. A fraud analyst would look at exactly
these:

| feature | why |
|---|---|
| `amount_rel_30d` | the amount relative to the card's average over the previous 30 days |
| `secs_since_prev`, `km_from_prev`, `speed_kmh` | time and distance since the card's previous payment; 900 km in an hour is not a person travelling |
| `km_from_home` | distance from the card holder's home |
| `tx_count_10m`, `amount_sum_10m` (and `1h`, `1d`) | rolling count and sum of the card's payments: card testing is a burst |

The rolling features need history from *before* the window, so the cell reads `LOOKBACK`
(30 days) of earlier transactions and returns only the rows inside the window. The functions are
plain pandas/numpy in `kernel_magics/demo/features.py`; `--check` predicates are verified on every
row before anything is written.
'''),
    code('''
%%feature card_transactions --key cc_num --event-time ts --online --mode upsert --check "amount > 0" --check "tx_count_10m >= 1" --description "Per-transaction fraud features"
history = data.transactions_between(window_start - LOOKBACK, window_end)
profiles = card_profiles(data.cards, data.customers)   # for the distance from home
features = transaction_features(history, profiles, window_start, window_end)
features'''),
    md('''
## Fraud labels

Which transactions turned out to be fraud (in a bank: chargebacks and customer reports, which
arrive later). The labels are the *spine* of the training data in notebook 2: one training row
per labelled transaction, joined point-in-time with the features above.
'''),
    code('''
%%feature fraud_labels --key cc_num --event-time ts --mode upsert --check "is_fraud IN (0, 1)" --description "Known fraud outcome per transaction"
data.labels_between(window_start, window_end)[["cc_num", "ts", "is_fraud"]]'''),
    md('''
## What we wrote

Each group is a Delta table under the lakehouse home (`tables/<name>_v<version>`), readable by
DuckDB, Polars or Spark, with statistics and lineage for every commit. The sidebar's *Features*
section shows the same.

What a burst of card testing looks like in the features: many payments within 10 minutes.
'''),
    code('''
fg = lh.features.groups.get("card_transactions")
bursts = fg.read(start=window_start, end=window_end)
bursts[bursts["tx_count_10m"] >= 5].head()'''),
    code('''fg'''),
    md('''
## Running it on a schedule

Every marked cell is a *step* Lakebook can run on its own, with papermill, on a copy of this
notebook. To compute yesterday's transactions every night at 01:00 UTC:

```python
lh.pipelines.schedules.create(notebook="1_feature_pipeline.ipynb",
                              step="card_transactions", cron="0 1 * * *")
```

(or add `--schedule "0 1 * * *"` to the magic line). To fill past windows, a backfill runs the
step once per window, in order:

```python
lh.pipelines.backfill("card_transactions", "2024-01-01", "2024-03-01", every="15d",
                      notebook="1_feature_pipeline.ipynb")
```

Next: **2_training_pipeline.ipynb** trains a model on these features.
'''),
]

# --------------------------------------------------------------------------------------------
TRAINING = [
    md('''
# 2 · Training pipeline: a fraud model from the feature store

Notebook 1 filled three feature groups. Here we

1. define a **feature view**: the fraud labels joined *point-in-time correct* with the card's
   transaction features and profile — each label sees the feature values as they were at that
   moment, never later ones, so the model is not trained on the future;
2. compare against a **baseline** a fraud analyst could write by hand;
3. train a scikit-learn model in a `%%training` cell, which hands us `X_train, X_test,
   y_train, y_test`, evaluates the model on the held-out rows, and registers it — promoting it
   to `production` only if it is better than the current production model.
'''),
    params('''
model_name = "fraud_model"
view_name = "fraud_view"
n_estimators = 150          # trees in the forest
min_roc_auc = 0.85          # refuse to go on below this (a broken pipeline, not a bad day)'''),
    code('''
%load_ext kernel_magics
import pandas as pd
import kernel_magics
from kernel_magics.demo.features import MODEL_FEATURES

lh = kernel_magics.connect()'''),
    md('''
## The feature view

The spine is `fraud_labels` (keys `cc_num`, event time `ts`, label `is_fraud`). For each
label row, Lakebook takes from `card_transactions` the row with the same card and the greatest
event time ≤ the label's time (here: the transaction itself), and from `card_profiles` the
card's profile as of then. Creating the same view again returns the existing version; a
different definition becomes a new version.
'''),
    code('''
labels = lh.features.groups.get("fraud_labels")
transactions = lh.features.groups.get("card_transactions")
profiles = lh.features.groups.get("card_profiles")

fv = lh.features.views.get_or_create(
    view_name,
    spine=labels,
    join=[transactions.select(["category", *MODEL_FEATURES]),
          profiles.select(["age", "segment", "credit_limit"])],
    label="is_fraud",
    description="Labelled transactions with the card's behaviour and profile")
fv'''),
    code('''
df = fv.training_data()
print(f"{len(df):,} labelled transactions, {df['is_fraud'].mean():.2%} fraud")
df.head()'''),
    md('''
## A baseline to beat

Before training anything: a rule an analyst would write — *flag a payment when the card made 3
or more payments in 10 minutes, or when it is more than 500 km from home*. A model earns its
place only if it beats this rule. We measure with ROC AUC (how well the score ranks fraud above
honest payments; 0.5 is chance) and average precision (the area under the precision-recall
curve; for a random score it equals the fraud rate, here about 0.015).
'''),
    code('''
from sklearn.metrics import average_precision_score, roc_auc_score

rule = ((df["tx_count_10m"] >= 3) | (df["km_from_home"] > 500)).astype(int)
baseline = {"roc_auc": roc_auc_score(df["is_fraud"], rule),
            "average_precision": average_precision_score(df["is_fraud"], rule),
            "fraud_rate": df["is_fraud"].mean()}
baseline'''),
    md('''
## Training

Fraud is rare (about 1.5 % of rows), so a model that always says "honest" is 98.5 % accurate
and useless. We handle the imbalance with `class_weight="balanced_subsample"`: each tree weighs
the rare fraud rows up so both classes count equally. Categorical columns are one-hot encoded
inside the model's pipeline, so the registered model takes the view's rows as they are.

A seeded random 20 % of the labels is held out for evaluation (`--split-by-time` would hold
out the newest 20 % instead; we keep every period in training so that a retrain after a change
in the world learns from it — notebook 4 then judges old and new models on the *following*
week, which neither has seen). `--promote-if-better average_precision` moves the `production` alias to
the new version only if its average precision beats the current production version's.
'''),
    code('''
%%training fraud_model --view fraud_view --metric average_precision --promote-if-better average_precision
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

model = make_pipeline(
    make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["category", "segment"]),
                            remainder="passthrough"),
    RandomForestClassifier(n_estimators=n_estimators, min_samples_leaf=3,
                           class_weight="balanced_subsample", n_jobs=-1, random_state=0))
model.fit(X_train, y_train)'''),
    md('''
## Did it beat the baseline?

The registry computed the metrics on the held-out rows. We compare them with the
rule's, and stop the pipeline loudly if the model is worse than a sanity threshold: a scheduled
run then fails and shows up red in the sidebar instead of silently registering a broken model.
'''),
    code('''
mv = lh.registry.versions(model_name)[-1]
report = pd.DataFrame({"rule baseline": baseline, f"{model_name} v{mv.version}": mv.metrics}).T
print(report[["roc_auc", "average_precision"]].round(3))
assert mv.metrics["roc_auc"] >= min_roc_auc, f"ROC AUC {mv.metrics['roc_auc']:.3f} < {min_roc_auc}"
assert mv.metrics["roc_auc"] > baseline["roc_auc"], "the model does not beat the rule"'''),
    md('''
Every version keeps its metrics, parameters, input schema and example, and its lineage: the
feature view and the exact Delta versions of the tables it was trained on, so the training set
can be rebuilt (`mv.training_data()`). `%lakebook registry fraud_model` shows the versions and
lets you move aliases by hand.

Next: **3_inference_pipeline.ipynb** puts the production model to work.
'''),
    md('''
## A LightGBM challenger

Lakebook does not choose the framework. Here a gradient-boosting challenger from LightGBM is
trained on the same view and split, evaluated on the same held-out rows and registered as the
next version of the same model, kept in LightGBM's own model text (no pickle). It does not
take `production`: the comparison below shows it beside the forest, and notebook 4 judges all
versions on the week neither has seen. (This is a plain cell with the Python API that
`%%training` stands for, so a scheduled retrain of the step above does not also run it.)
'''),
    code('''
try:
    import lightgbm as lgb
except ImportError:  # the frameworks are optional extras of Lakebook
    lgb = None
    print("LightGBM is not installed: pip install 'lakebook[lightgbm]' adds this challenger.")

if lgb is not None:
    plan = lh.registry.plan_training(model_name, view=view_name, metrics=["average_precision"])
    cats = {"category": "category", "segment": "category"}  # text columns as pandas categories
    challenger = lgb.LGBMClassifier(n_estimators=200, learning_rate=0.05, num_leaves=31,
                                    class_weight="balanced", n_jobs=1, random_state=0,
                                    verbose=-1)
    challenger.fit(plan.data["X_train"].astype(cats), plan.data["y_train"])
    display(plan.register(challenger, what="challenger"))'''),
    code('''lh.registry.compare(model_name)'''),
]

# --------------------------------------------------------------------------------------------
INFERENCE = [
    md('''
# 3 · Inference pipeline: batch scoring and an online deployment

The `production` model from notebook 2 now scores transactions, in the two ways a bank needs:

* **batch**: every night, score the day's transactions (for the fraud team's review queue) —
  an `%%inference` cell that reads the feature view's rows for the window, predicts, and
  appends the predictions to a Delta table; the commit names the feature versions it read, so
  monitoring can rebuild exactly what the model saw;
* **online**: a payment terminal asks "is *this* payment fraud?" while the customer waits — a
  deployment looks the card's latest features up in the online store and answers in
  milliseconds.
'''),
    params(WORLD_PARAMETERS + '''
window_start = None         # the window to score (default: the week before drift_after)
window_end = None
deployment_name = "fraud_online"
n_requests = 12             # payments sent to the online deployment'''),
    code(SETUP + '''
from kernel_magics.demo.data import new_transactions
from kernel_magics.demo.features import stream_features

window_end = as_utc(window_end or drift_after)
window_start = as_utc(window_start or window_end - pd.Timedelta(days=7))
print(f"Scoring {window_start:%Y-%m-%d %H:%M} .. {window_end:%Y-%m-%d %H:%M} UTC")'''),
    md('''
## Batch scoring

The cell below is a step: scheduled, it scores each new window. Before the cell's code runs,
the magic puts the model's feature-view rows for the window in `batch_df` and a `predict`
function in the namespace; the cell may prepare the rows or post-process the predictions. Here
we keep each payment's amount next to its fraud probability, for the fraud team. Afterwards the
magic appends `predictions` to the Delta table `predictions_fraud_batch` and to the inference
log that monitoring reads.
'''),
    code('''
%%inference fraud_batch --model fraud_model --alias production
predictions = predict(batch_df)
predictions["amount"] = batch_df["amount"].to_numpy()
predictions'''),
    md('''
The review queue: the window's payments the model finds most suspicious.
'''),
    code('''
predictions.sort_values("proba_1", ascending=False).head(10)'''),
    md('''
## An online deployment

`lh.deploy` names a model (by alias, so it follows promotions) and serves it with the model's
feature view. Inside JupyterLab it answers at `/lakebook/api/deployments/fraud_online/predict`;
`lakebook serve` serves it standalone (also with MLflow's `/invocations` protocol).
'''),
    code('''
deployment = lh.deploy(deployment_name, model="fraud_model", alias="production")
deployment'''),
    md('''
## Payments arrive

New payments come in right after the window: most cards make one ordinary purchase, but some
are in a fraudster's hands — three purchases minutes apart, in a city far from home. The
streaming part of the feature pipeline computes their features (with each card's history) and
writes them to `card_transactions`, which also updates the online store. Then the terminal asks
the deployment about each card's latest payment, by card number only.
'''),
    code('''
fresh = new_transactions(data, n_requests, at=window_end, seed=seed)
fresh_features = stream_features(data, fresh)   # with each card's last 30 days as history
lh.features.groups.get("card_transactions").insert(fresh_features, mode="upsert")
fresh_features[["cc_num", "ts", "amount", "km_from_home", "speed_kmh"]].head()'''),
    code('''
answers = []
for payment in fresh.drop_duplicates("cc_num", keep="last").itertuples():
    answer = deployment.predict({"cc_num": int(payment.cc_num)})
    answers.append({"cc_num": payment.cc_num, "amount": payment.amount,
                    "p_fraud": answer["probabilities"]["1"], "flagged": answer["prediction"],
                    "actually_fraud": payment.is_fraud, "model": answer["model"]["version"]})
answers = pd.DataFrame(answers)
answers'''),
    code('''
# an unknown card is not an error: the answer says it was not found
deployment.predict({"cc_num": 1234})'''),
    md('''
Every answer was logged (request, features, prediction, latency) for monitoring; the sidebar's
*Deployments* section shows the traffic. From a shell, while JupyterLab runs:

```bash
curl -H "Authorization: token $TOKEN" -d '{"entries": {"cc_num": 4000123412341234}}' \\
     http://localhost:8888/lakebook/api/deployments/fraud_online/predict
```

Next: **4_monitoring.ipynb** watches these predictions drift.
'''),
    code('''
deployment.flush()
deployment.stats()'''),
]

# --------------------------------------------------------------------------------------------
MONITORING = [
    md('''
# 4 · Monitoring: drift, an alert, and the retraining loop

Models age. In our simulated world, spending changes after `drift_after`: amounts grow, online
shopping and travel take a larger share, more payments happen away from home. Nothing fails —
the model keeps answering — but it answers about a world it has not seen.

This notebook

1. creates a **monitor** that compares what the batch deployment scored with the model's
   training data (Evidently's drift tests, one per feature), and checks it before the drift;
2. lets time pass: the **feature pipeline** (notebook 1) and **batch inference** (notebook 3)
   run for the two weeks after the drift date, as their schedules would;
3. runs the monitor again: drift past the threshold raises an **alert** (the sidebar shows it),
   and the alert **queues the training pipeline** (notebook 2) — the loop back;
4. compares the new model version with the old one on the week that follows, which neither
   has seen, and promotes the better.
'''),
    params(WORLD_PARAMETERS + '''
drift_days = 14             # how long the world runs after the drift date
eval_days = 7               # the week after that, on which old and new models are compared
monitor_name = "fraud_drift"
drift_threshold = 0.3       # alert when at least this share of the features drifted
retrain_timeout = 900       # seconds to wait for the retraining run'''),
    code(SETUP + '''
from pathlib import Path

drift_start = as_utc(drift_after)
drift_end = drift_start + pd.Timedelta(days=drift_days)
eval_end = drift_end + pd.Timedelta(days=eval_days)
NOTEBOOKS = Path.cwd()   # the other notebooks sit next to this one
world = {"size": size, "seed": seed, "data_start": data_start, "days": days,
         "drift_after": drift_after}'''),
    md('''
## A monitor on the batch deployment

The current side is what `fraud_batch` scored over the last 7 days (its predictions table, by
the transactions' event time, with the inputs rebuilt from the pinned feature versions); the reference is the training set of the model version that scored
it. `on_drift="retrain"` closes the loop: an alert queues a run of the step that trained the
model. Scheduled (`@daily`), each run looks at the 7 days before its own time; here we run it
by hand and say which moment "now" is.
'''),
    code('''
monitor = lh.create_monitor(monitor_name, deployment="fraud_batch", reference="training",
                            current="last 7d", threshold=drift_threshold, on_drift="retrain",
                            schedule="@daily", replace=True)
monitor'''),
    md('''
Before the drift, what the deployment scored (the week before `drift_after`, from notebook 3)
looks like the training data:
'''),
    code('''
before = monitor.run(now=drift_start)
print(before.status, f"drift share {before.drift_share:.0%}")
before'''),
    md('''
## Time passes

The schedules would do this every night; here we run the steps for the two weeks after the
drift date at once. `lh.pipelines.run` executes steps of another notebook with papermill, on a
copy, with the window injected as parameters — exactly what a scheduled run does. Each run's
executed notebook is kept as its record (the sidebar's *Runs* section).
'''),
    code('''
window = (drift_start, drift_end)
for steps, notebook in [(["card_transactions", "fraud_labels"], "1_feature_pipeline.ipynb"),
                        (["fraud_batch"], "3_inference_pipeline.ipynb")]:
    run = lh.pipelines.run(str(NOTEBOOKS / notebook), step=steps, params=world, window=window)
    print(f"{notebook:28} {', '.join(steps):32} {run.status:10} {run.duration_s:5.1f}s")
    assert run.status == "succeeded", run.error'''),
    md('''
## The monitor runs again

Now the scored window is the two weeks after the drift. Each feature's distribution is tested
against the training data; past the threshold the result is *drift*, an alert is raised, and
the retraining run is queued.
'''),
    code('''
production_before = lh.registry.get("fraud_model", alias="production")
after = monitor.run(now=drift_end)
print(after.status, f"drift share {after.drift_share:.0%}:", ", ".join(after.drifted_columns))
after'''),
    code('''
alert = monitor.alerts()[0]
print(alert["message"])
alert["action"]'''),
    md('''
## Closing the loop: the retrain

The alert queued a run of notebook 2's `%%training fraud_model` step in a worker process. It
trains on every label so far — now including the two weeks after the drift — and registers a
new version (moving `production` only if it beats the current one on average precision). We
wait for it here; in JupyterLab you would watch it in the sidebar.
'''),
    code('''
action = alert["action"] or {}
if action.get("run_id"):
    retrain = lh.pipelines.runs.get(action["run_id"]).wait(timeout=retrain_timeout)
else:  # the model's notebook is unknown (e.g. trained outside a saved notebook): run it here
    print("The alert could not queue the retrain:", action.get("reason"))
    retrain = lh.pipelines.run(str(NOTEBOOKS / "2_training_pipeline.ipynb"), step="fraud_model")
print(retrain.status, retrain.duration_s)
assert retrain.status == "succeeded", retrain.error
challenger = lh.registry.versions("fraud_model")[-1]
print(f"fraud_model v{production_before.version} -> v{challenger.version}")'''),
    md('''
## Champion and challenger on the following week

The two versions' registry metrics come from different held-out sets, so we compare them on
the same data that neither has seen: the week after the drift period. The feature pipeline
computes it (as its schedule would next week), and the labels of that week are the judge. The
better version gets the `production` alias; both deployments follow the alias on their next
request.
'''),
    code('''
from sklearn.metrics import average_precision_score, roc_auc_score

run = lh.pipelines.run(str(NOTEBOOKS / "1_feature_pipeline.ipynb"),
                       step=["card_transactions", "fraud_labels"], params=world,
                       window=(drift_end, eval_end))
assert run.status == "succeeded", run.error
judge = lh.features.views.get("fraud_view").training_data(start=drift_end, end=eval_end)
scores = {}
for mv in lh.registry.versions("fraud_model"):   # the forest, the LightGBM, the retrain
    p = mv.predict_proba(judge)[:, 1]
    scores[mv.version] = {"roc_auc": roc_auc_score(judge["is_fraud"], p),
                          "average_precision": average_precision_score(judge["is_fraud"], p)}
scores = pd.DataFrame(scores).T.rename_axis("version")
best = int(scores["average_precision"].idxmax())
if lh.registry.get("fraud_model", alias="production").version != best:
    lh.registry.set_alias("fraud_model", "production", best,
                          reason=f"best average precision on {drift_end:%Y-%m-%d}..{eval_end:%Y-%m-%d}")
print(scores.round(3)); print("production ->", f"v{best}")'''),
    md('''
That is the whole loop: features → training → inference → monitoring → training. In
JupyterLab, the Lakebook sidebar shows the feature groups, the model versions and their
aliases, the deployments with their traffic, the runs with their executed notebooks, and the
monitor with its alert (acknowledge it there once handled).
'''),
    code('''lh'''),
]

SIMILARITY = [
    md('''
# 5 · Similarity search: merchants that look alike

The fifth notebook adds the "AI" half of an AI lakehouse: **embeddings as features**. Every
merchant in the simulated world has a short description, the kind of text an onboarding form
holds ("online marketplace, electronics, gift cards, resale"). We turn the descriptions into
vectors, store them in a feature group as an *embedding column*, and search them:

- *merchants most like this one* — the nearest rows to a merchant's own vector;
- a new feature, **similarity to the nearest known-fraud merchant**, which a fraud model then
  uses ("this merchant looks like the ones our investigators flagged");
- a deployment that answers a text with its nearest merchants *and* the model's verdict on each;
- the retrieval half of retrieval-augmented generation (RAG): a prompt-ready context built from
  the nearest rows (no language model is called).

The embedding function is an ordinary scikit-learn pipeline (TF-IDF + truncated SVD), fitted here
and registered like any model: nothing downloads model weights at run time. Swap in any encoder
you have locally; the rest of the notebook does not change.
'''),
    md('''
## Parameters

The same simulated world as notebooks 1 to 4 (same seed, same merchants), and how many
neighbours each search returns.
'''),
    params(WORLD_PARAMETERS + '''
dim = 32                    # length of the description vectors
k = 5                       # neighbours per search'''),
    code(SETUP + '''
import numpy as np
from kernel_magics.demo.similarity import (known_fraud_merchants, merchant_descriptions,
                                           merchant_fraud)

merchants = merchant_descriptions(data)
merchants[["merchant_id", "name", "category", "city", "description"]].head()'''),
    md('''
## The embedding function, fitted and registered

TF-IDF weighs the words of each description; truncated SVD folds the vocabulary into `dim`
dense dimensions, so that descriptions sharing words (and words that appear together) land near
each other. The fitted pipeline is registered in the model registry, so a deployment can embed a
text sent to it with exactly the function the vectors were made with.
'''),
    code('''
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline

embedder = make_pipeline(TfidfVectorizer(), TruncatedSVD(n_components=dim, random_state=seed))
embedder.fit(merchants["description"])
embedder_version = lh.registry.register(embedder, "merchant_embedder",
                                        description="TF-IDF + SVD of merchant descriptions")
embedder_version'''),
    md('''
## The embedding step

An embedding step is an ordinary `%%feature` cell that computes vectors. `--embedding
desc_vec:32:cosine` declares the column: every insert is checked (32 finite floats per row, or
the insert is refused naming the rows), the vectors are stored in the Delta table as lists of
float32, and because the group is `--online`, an approximate-nearest-neighbour index (usearch
HNSW) is kept in step with the online store in the same insert.
'''),
    code('''
%%feature merchant_profiles --key merchant_id --event-time updated_at --online --mode upsert --embedding desc_vec:32:cosine --description "Merchants with their description embeddings"
vectors = embedder.transform(merchants["description"]).astype("float32")
merchants.assign(desc_vec=list(vectors))'''),
    code('''
profiles = lh.features.groups.get("merchant_profiles")
profiles.index_status()'''),
    md('''
## Merchants most like this one

`neighbors_of` looks up a merchant's stored vector and returns the nearest other merchants,
nearest first, with their features and the cosine distance (0 is identical). `find_neighbors`
takes any vector, and a SQL `filter` that is applied *before* the top k is cut, so a filter
never returns fewer than k rows when k rows match.
'''),
    code('''
first = int(merchants["merchant_id"].iloc[0])
like = profiles.neighbors_of(first, k=k)
like[["merchant_id", "name", "category", "city", "description", "distance"]]'''),
    code('''
query = embedder.transform(["cheap flights and hotel deals abroad"])[0]
profiles.find_neighbors(query, k=k, filter="category <> 'food_dining'")[
    ["merchant_id", "category", "description", "distance"]]'''),
    md('''
## Similarity to the nearest known-fraud merchant

Investigators flagged a handful of merchants (a tenth or more of their payments were fraud). For
every merchant we search the flagged ones only (the filter) and keep the nearest other than the
merchant itself: its cosine similarity becomes the feature `fraud_similarity`. The exact search
(`exact=True`, DuckDB over the Delta table) gives the same answer; it is the oracle the online
index is tested against.
'''),
    code('''
%%feature merchant_fraud_similarity --key merchant_id --event-time updated_at --online --mode upsert --description "Cosine similarity to the nearest known-fraud merchant (itself left out)"
flagged = known_fraud_merchants(data)
only_flagged = "merchant_id IN (" + ", ".join(map(str, flagged)) + ")"
rows = []
for mid, vec, when in zip(merchants["merchant_id"], vectors, merchants["updated_at"]):
    near = profiles.find_neighbors(vec, k=2, filter=only_flagged)
    near = near[near["merchant_id"] != mid].head(1)
    rows.append({"merchant_id": mid, "updated_at": when,
                 "fraud_similarity": float(1 - near["distance"].iloc[0]),
                 "nearest_fraud_merchant": int(near["merchant_id"].iloc[0])})
pd.DataFrame(rows)'''),
    md('''
## A merchant fraud model that uses it

The outcome to predict: is a merchant among the riskiest quarter by its share of fraudulent
payments? The view joins each outcome with the merchant's category and its `fraud_similarity`;
the `%%training` cell fits a small model on them and registers it with its evaluation.
'''),
    code('''
%%feature merchant_outcomes --key merchant_id --event-time ts --mode upsert --description "Whether a merchant is among the riskiest quarter"
outcomes = merchant_fraud(data)
outcomes["is_risky"] = (outcomes["fraud_share"] >= outcomes["fraud_share"].quantile(0.75)).astype(int)
outcomes["ts"] = merchants["updated_at"].iloc[0] + pd.Timedelta(days=days)
outcomes[["merchant_id", "ts", "is_risky"]]'''),
    code('''
risk_view = lh.features.views.get_or_create(
    "merchant_risk_view", spine=lh.features.groups.get("merchant_outcomes"),
    join=[profiles.select(["category"]),
          lh.features.groups.get("merchant_fraud_similarity").select(["fraud_similarity"])],
    label="is_risky", description="Merchant outcomes with category and fraud similarity")
risk_view.training_data().head()'''),
    code('''
%%training merchant_risk --view merchant_risk_view --alias production
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder

model = make_pipeline(
    make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["category"]),
                            remainder="passthrough"),
    LogisticRegression(class_weight="balanced", max_iter=1000))
model.fit(X_train, y_train)'''),
    md('''
## A deployment that answers with neighbours and verdicts

A deployment of the model over the view answers "which merchants look like this description,
and would the model call them risky?": the text is embedded by the registered
`merchant_embedder`, the nearest merchants are found in the online index, and the model predicts
over their features from the online store. The same call is served over REST at
`POST /lakebook/api/deployments/merchant_risk_online/neighbors`.
'''),
    code('''
dep = lh.deploy("merchant_risk_online", model="merchant_risk", alias="production",
                view=risk_view)
answer = dep.neighbors(text="online marketplace selling gift cards and electronics",
                       embedder="merchant_embedder", k=k)
pd.DataFrame([{**{c: n[c] for c in ("merchant_id", "distance", "prediction")},
               **n["features"]} for n in answer["neighbors"]])'''),
    md('''
## Retrieval for a prompt (the "R" of RAG)

Retrieval-augmented generation gives a language model the few records that matter instead of the
whole table. The retrieval half is a nearest-neighbour search: embed the question, take the k
nearest rows, and format them as numbered context. Here we stop at the prompt; sending it to a
model is one more call with whatever client you use.
'''),
    code('''
question = "Which merchants sell flights or hotel stays abroad?"
hits = profiles.find_neighbors(embedder.transform([question])[0], k=k)
context = "\\n".join(
    f"[{i}] {row.name} ({row.category}, {row.city}): {row.description} "
    f"(similarity {1 - row.distance:.2f})"
    for i, row in enumerate(hits.itertuples(index=False), start=1))
prompt = (f"Answer using only these merchant records, citing them by number.\\n\\n{context}\\n\\n"
          f"Question: {question}")
print(prompt)'''),
]

NOTEBOOKS = {
    "1_feature_pipeline.ipynb": FEATURES,
    "2_training_pipeline.ipynb": TRAINING,
    "3_inference_pipeline.ipynb": INFERENCE,
    "4_monitoring.ipynb": MONITORING,
    "5_similarity.ipynb": SIMILARITY,
}


def build(name: str, cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                       "language": "python"},
        "language_info": {"name": "python"},
    })
    stem = name.split("_")[0]
    for i, cell in enumerate(cells, start=1):
        if cell[0] == "md":
            nb.cells.append(new_markdown_cell(cell[1], id=f"nb{stem}-{i:02d}"))
        else:
            nb.cells.append(new_code_cell(cell[1], id=f"nb{stem}-{i:02d}",
                                          metadata={"tags": cell[2]} if cell[2] else {}))
    nbformat.validate(nb)
    return nb


def write_notebooks(folder: Path | str) -> list[Path]:
    """Write the five notebooks into ``folder`` (created if needed); returns their paths.
    A notebook whose content is already the same is left untouched."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, cells in NOTEBOOKS.items():
        path = folder / name
        text = nbformat.writes(build(name, cells)) + "\n"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    return written
