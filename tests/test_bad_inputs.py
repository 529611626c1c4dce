"""A catalogue of bad inputs: every public estimator, splitter and function, fed
malformed arrays, dtypes, labels, task columns, weights, parameters, sparse matrices,
DataFrames and extreme magnitudes, must fail with an error that names the problem
(or warn, for the few cases whose behaviour is defined and documented), never with
an exception from inside a numba kernel or a bare arithmetic error.

``CASES`` is a table: (id, call, expected exception or warning, regex). Each id is
one distinct bad input; ``test_catalogue_size`` keeps the count explicit.
Inputs already covered by ``test_layout_and_validation.py`` are not repeated here.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import make_data
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.utils._param_validation import InvalidParameterError

from mtlreg import (
    DirtyClassifier,
    DirtyClassifierCV,
    DirtyRegressor,
    DirtyRegressorCV,
    GroupLassoClassifier,
    GroupLassoClassifierCV,
    GroupLassoRegressor,
    GroupLassoRegressorCV,
    IndependentClassifier,
    IndependentClassifierCV,
    IndependentRegressor,
    IndependentRegressorCV,
    MeanRegularizedClassifier,
    MeanRegularizedClassifierCV,
    MeanRegularizedRegressor,
    MeanRegularizedRegressorCV,
    SparseGroupLassoClassifier,
    SparseGroupLassoClassifierCV,
    SparseGroupLassoRegressor,
    SparseGroupLassoRegressorCV,
    TraceNormClassifier,
    TraceNormClassifierCV,
    TraceNormRegressor,
    TraceNormRegressorCV,
    alpha_grid,
    regularization_path,
)
from mtlreg.datasets import make_multitask_classification, make_multitask_regression
from mtlreg.model_selection import TaskStratifiedKFold

# small problems, built once
SH = make_data("shared", "squared", n=30, d=4, T=3, seed=0)
PT = make_data("per_task", "squared", n=36, d=4, T=3, seed=0)
CL = make_data("shared", "logistic", n=30, d=4, T=3, seed=1)
CP = make_data("per_task", "logistic", n=36, d=4, T=3, seed=1)
FEATS = [f"f{k}" for k in range(4)]


def _frame(data, labels=None):
    df = pd.DataFrame(data.features, columns=FEATS)
    tasks = data.task_ids if labels is None else np.asarray(labels, dtype=object)[data.task_ids]
    df.insert(0, "task", tasks)
    return df


def _with(X, row, col, value, dtype=None):
    X = X.astype(dtype) if dtype is not None else X.copy()
    X[row, col] = value
    return X


def _fitted(est, data):
    return est.fit(data.X, data.y)


def _sorted(data):
    order = np.argsort(data.task_ids, kind="stable")
    return data.X[order], data.y[order]


def _grid_search_unshuffled():
    X, y = _sorted(PT)
    # error_score="raise": the scoring error surfaces instead of a NaN score
    GridSearchCV(GroupLassoRegressor(task_column=0), {"alpha": [0.1, 1.0]}, cv=3,
                 error_score="raise").fit(X, y)


def _grid_search_unshuffled_nan():
    X, y = _sorted(PT)
    GridSearchCV(GroupLassoRegressor(task_column=0), {"alpha": [0.1, 1.0]}, cv=3).fit(X, y)


def _separable():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    return X, (X[:, 0] > 0).astype(int)


def _single_sample_task():
    X = np.vstack([PT.X, np.r_[9.0, PT.features[0]]])
    y = np.r_[PT.y, 1.0]
    return X, y


UNSEEN = r"Unknown task\(s\).*TaskStratifiedKFold"
BIG, TINY = 1e300, 1e-300
OVERFLOW = r"magnitude up to .*overflow float64\. Rescale"
UNDERFLOW = r"magnitude up to .*underflow float64\. Rescale"
PARAM = InvalidParameterError

CASES = [
    # ------------------------------------------------------------- arrays and dtypes
    ("X_3d", lambda: TraceNormRegressor().fit(SH.X[:, :, None], SH.y),
     ValueError, "Found array with dim 3"),
    ("X_1d_per_task", lambda: DirtyRegressor(task_column=0).fit(PT.X[:, 0], PT.y),
     ValueError, "Expected a 2D array for X"),
    ("X_complex", lambda: SparseGroupLassoRegressor().fit(SH.X + 1j, SH.y),
     ValueError, "Complex data not supported"),
    ("X_letters", lambda: IndependentRegressor().fit(np.full((30, 2), "a"), SH.y),
     ValueError, "X must be numeric; it holds text"),
    ("X_numeric_strings", lambda: GroupLassoRegressor().fit(SH.X.astype(str), SH.y),
     ValueError, r"X must be numeric; it holds text \(e\.g\. '[0-9.]+'\)"),
    ("X_frame_text_feature_per_task",
     lambda: GroupLassoRegressor(task_column="task").fit(
         _frame(PT).assign(f0=PT.features[:, 0].astype(str)), PT.y),
     ValueError, "X must be numeric; it holds text"),
    ("X_zero_rows", lambda: MeanRegularizedRegressor().fit(SH.X[:0], SH.y[:0]),
     ValueError, r"0 sample\(s\)"),
    ("X_ragged_list", lambda: GroupLassoRegressor().fit([[1.0, 2.0], [3.0]], [1.0, 2.0]),
     ValueError, "inhomogeneous"),
    ("X_nan_per_task_cv", lambda: GroupLassoRegressorCV(task_column=0).fit(
        _with(PT.X, 2, 3, np.nan), PT.y), ValueError, "Input X contains NaN"),
    ("X_inf_at_predict_per_task",
     lambda: _fitted(IndependentRegressor(task_column=0), PT).predict(
         _with(PT.X, 0, 1, np.inf)), ValueError, "Input X contains infinity"),
    ("X_no_feature_column_frame",
     lambda: GroupLassoRegressor(task_column="task").fit(_frame(PT)[["task"]], PT.y),
     ValueError, "X has no feature column besides the task column"),
    ("X_no_feature_column_array",
     lambda: TraceNormRegressor(task_column=0).fit(PT.X[:, :1], PT.y),
     ValueError, "X has no feature column besides the task column"),
    ("X_fewer_features_at_predict_shared",
     lambda: _fitted(TraceNormRegressor(), SH).predict(SH.X[:, :3]),
     ValueError, "X has 3 features, but TraceNormRegressor is expecting 4"),
    ("X_renamed_columns_at_predict",
     lambda: GroupLassoRegressor(task_column="task").fit(_frame(PT), PT.y).predict(
         _frame(PT).rename(columns={"f1": "g1"})), ValueError, "feature names should match"),
    ("X_frame_without_task_column_at_predict",
     lambda: GroupLassoRegressor(task_column="task").fit(_frame(PT), PT.y).predict(
         _frame(PT).drop(columns="task")), ValueError, "task_column='task' is not a column"),
    # ------------------------------------------------------------- extreme magnitudes
    ("X_huge_shared", lambda: GroupLassoRegressor().fit(SH.X * BIG, SH.y),
     ValueError, OVERFLOW),
    ("X_huge_per_task", lambda: DirtyRegressor(task_column=0).fit(
        np.column_stack([PT.X[:, 0], PT.features * BIG]), PT.y), ValueError, OVERFLOW),
    ("X_huge_sparse", lambda: TraceNormRegressor().fit(sp.csr_matrix(SH.X * BIG), SH.y),
     ValueError, OVERFLOW),
    ("X_huge_one_column_classifier",
     lambda: GroupLassoClassifier().fit(_with(CL.X, slice(None), 2, CL.X[:, 2] * 1e120), CL.y),
     ValueError, r"Feature\(s\) \[2\].*overflow"),
    ("X_tiny", lambda: MeanRegularizedRegressor().fit(SH.X * TINY, SH.y),
     ValueError, UNDERFLOW),
    ("y_huge_shared", lambda: IndependentRegressor().fit(SH.X, SH.y * BIG),
     ValueError, r"y has entries of magnitude .*overflow"),
    ("y_huge_per_task", lambda: SparseGroupLassoRegressor(task_column=0).fit(PT.X, PT.y * BIG),
     ValueError, r"y has entries of magnitude .*overflow"),
    ("y_tiny", lambda: GroupLassoRegressor().fit(SH.X, SH.y * TINY),
     ValueError, r"y has entries of magnitude .*underflow"),
    ("y_huge_cv", lambda: TraceNormRegressorCV().fit(SH.X, SH.y * BIG),
     ValueError, r"y has entries of magnitude .*overflow"),
    ("X_huge_alpha_grid", lambda: alpha_grid(GroupLassoRegressor(), SH.X * BIG, SH.y),
     ValueError, OVERFLOW),
    # ------------------------------------------------------------- targets
    ("y_numeric_strings", lambda: GroupLassoRegressor().fit(SH.X, SH.y.astype(str)),
     ValueError, r"y must be numeric; got strings \(e\.g\. '[-0-9.]+'\)"),
    ("y_numeric_strings_per_task_series",
     lambda: MeanRegularizedRegressor(task_column=0).fit(PT.X, pd.Series(PT.y.astype(str))),
     ValueError, "y must be numeric; got strings"),
    ("y_complex", lambda: DirtyRegressor().fit(SH.X, SH.y + 1j),
     ValueError, "y must be real; got complex"),
    ("y_3d", lambda: TraceNormRegressor().fit(SH.X, SH.y[:, :, None]),
     ValueError, r"y has shape \(30, 3, 1\)"),
    ("y_sparse", lambda: IndependentRegressor().fit(SH.X, sp.csr_matrix(SH.y)),
     TypeError, "sparse y is not supported"),
    ("y_short_per_task_classifier",
     lambda: DirtyClassifier(task_column=0).fit(CP.X, CP.y[:-1]), ValueError, "y has shape"),
    ("y_2d_per_task_classifier",
     lambda: TraceNormClassifier(task_column=0).fit(CP.X, np.column_stack([CP.y, CP.y])),
     ValueError, "With task_column set, y must be 1-D"),
    ("y_all_nan_task_classifier",
     lambda: MeanRegularizedClassifier().fit(CL.X, _with(CL.y, slice(None), 1, np.nan)),
     ValueError, r"Task\(s\) \[1\] have no labelled sample"),
    ("y_continuous_classifier", lambda: TraceNormClassifier().fit(CL.X, np.linspace(0, 1, 30)),
     ValueError, "Unknown label type"),
    ("y_three_classes_a_task_lacks_one", lambda: DirtyClassifier(task_column=0).fit(
        CP.X, np.where(CP.task_ids == 1, np.arange(len(CP.y)) % 2, np.arange(len(CP.y)) % 3)),
     ValueError, r"no sample \(after sample weighting\) of some of the 3 classes"),
    ("y_one_string_class", lambda: IndependentClassifier().fit(CL.X, np.array(["a"] * 30)),
     ValueError, r"only one class \(\['a'\]\)"),
    ("y_one_class_task_per_task", lambda: SparseGroupLassoClassifier(task_column=0).fit(
        CP.X, np.where(CP.task_ids == 2, 1, CP.y)), ValueError, "have samples of only one"),
    ("y_mixed_label_types_classifier",
     lambda: GroupLassoClassifier().fit(CL.X, np.array([1, "a"] * 15, dtype=object)),
     ValueError, "Unknown label type"),
    ("y_none_cv", lambda: GroupLassoRegressorCV().fit(SH.X, None), ValueError, "requires y"),
    # ------------------------------------------------------------- task column
    ("task_mixed_int_str", lambda: GroupLassoRegressor(task_column="task").fit(
        _frame(PT, [1, "b", 3]), PT.y), ValueError, "mixes numbers and strings"),
    ("task_mixed_int_str_object_array", lambda: MeanRegularizedRegressor(task_column=0).fit(
        _with(PT.X, 0, 0, "a", dtype=object), PT.y), ValueError, "mixes numbers and strings"),
    ("task_tuple_label", lambda: GroupLassoRegressor(task_column=0).fit(
        _with(PT.X, 0, 0, (1, 2), dtype=object), PT.y),
     ValueError, "Task labels must be numbers or strings"),
    ("task_complex_column", lambda: GroupLassoRegressor(task_column="task").fit(
        _frame(PT).assign(task=PT.task_ids + 1j), PT.y),
     ValueError, "Task labels must be numbers or strings"),
    ("task_column_bool", lambda: GroupLassoRegressor(task_column=True).fit(PT.X, PT.y),
     ValueError, "task_column must be None, an int or a str; got True"),
    ("task_column_float", lambda: DirtyRegressor(task_column=0.0).fit(PT.X, PT.y),
     PARAM, "'task_column' parameter"),
    ("task_nan_at_predict", lambda: _fitted(GroupLassoRegressor(task_column=0), PT).predict(
        _with(PT.X, 1, 0, np.nan)), ValueError, "task column contains NaN"),
    ("task_none_at_predict_frame",
     lambda: GroupLassoRegressor(task_column="task").fit(_frame(PT, list("abc")), PT.y).predict(
         _frame(PT, list("abc")).assign(task=[None] + list("abc"[t] for t in PT.task_ids[1:]))),
     ValueError, "task column contains missing values"),
    # ------------------------------------------------------------- unseen tasks
    ("unseen_task_predict_mean_reg", lambda: _fitted(
        MeanRegularizedRegressor(task_column=0), PT).predict(_with(PT.X, 0, 0, 7.0)),
     ValueError, UNSEEN + ".*unseen_tasks='shared'"),
    ("unseen_task_score_classifier", lambda: _fitted(
        GroupLassoClassifier(task_column=0), CP).score(_with(CP.X, 0, 0, 7.0), CP.y),
     ValueError, UNSEEN),
    ("unseen_task_predict_proba_dirty", lambda: _fitted(
        DirtyClassifier(task_column=0), CP).predict_proba(_with(CP.X, 0, 0, 7.0)),
     ValueError, UNSEEN + ".*unseen_tasks='shared'"),
    ("unseen_task_cv_estimator", lambda: _fitted(
        TraceNormRegressorCV(task_column=0, n_alphas=3), PT).predict(_with(PT.X, 0, 0, 7.0)),
     ValueError, UNSEEN),
    ("unseen_tasks_grid_search_raise", _grid_search_unshuffled, ValueError, UNSEEN),
    ("unseen_tasks_grid_search_nan_warns", _grid_search_unshuffled_nan, UserWarning,
     r"(?s)Scoring failed.*TaskStratifiedKFold"),
    ("unseen_tasks_cross_val_score", lambda: cross_val_score(
        IndependentRegressor(task_column=0), *_sorted(PT), cv=KFold(3), error_score="raise"),
     ValueError, UNSEEN),
    ("unseen_tasks_cv_estimator_kfold", lambda: GroupLassoRegressorCV(
        task_column=0, cv=KFold(3), n_alphas=3).fit(*_sorted(PT)), ValueError, UNSEEN),
    ("unseen_tasks_bad_value", lambda: MeanRegularizedRegressor(unseen_tasks="mean").fit(
        SH.X, SH.y), PARAM, "'unseen_tasks' parameter"),
    ("unseen_tasks_not_a_group_lasso_option",
     lambda: GroupLassoRegressor(unseen_tasks="shared"), TypeError, "unseen_tasks"),
    # ------------------------------------------------------------- weights
    ("sample_weight_nan", lambda: TraceNormRegressor().fit(
        SH.X, SH.y, sample_weight=np.r_[np.nan, np.ones(29)]),
     ValueError, "Input sample_weight contains NaN"),
    ("sample_weight_inf_per_task", lambda: DirtyRegressor(task_column=0).fit(
        PT.X, PT.y, sample_weight=np.r_[np.inf, np.ones(len(PT.y) - 1)]),
     ValueError, "Input sample_weight contains infinity"),
    ("sample_weight_2d", lambda: GroupLassoRegressor().fit(SH.X, SH.y, np.ones((30, 2))),
     ValueError, "Sample weights must be 1D"),
    ("sample_weight_sparse", lambda: GroupLassoRegressor().fit(
        SH.X, SH.y, sample_weight=sp.csr_matrix(np.ones((1, 30)))),
     TypeError, "Sparse data was passed for sample_weight"),
    ("sample_weight_text", lambda: GroupLassoRegressor().fit(
        SH.X, SH.y, sample_weight=np.array(["a"] * 30)), ValueError, "could not convert"),
    ("sample_weight_all_zero_classifier", lambda: GroupLassoClassifier(task_column=0).fit(
        CP.X, CP.y, sample_weight=np.zeros(len(CP.y))), ValueError, "at least one non-zero"),
    ("sample_weight_negative_cv", lambda: MeanRegularizedRegressorCV().fit(
        SH.X, SH.y, sample_weight=-np.ones(30)), ValueError, "Negative values"),
    ("sample_weight_wrong_length_per_task_cv",
     lambda: IndependentRegressorCV(task_column=0).fit(PT.X, PT.y, sample_weight=np.ones(3)),
     ValueError, "sample_weight.shape"),
    ("task_weights_nan", lambda: TraceNormRegressor(task_weights=[1.0, np.nan, 1.0]).fit(
        SH.X, SH.y), ValueError, "task_weights must be finite"),
    ("task_weights_inf_dict_per_task", lambda: GroupLassoRegressor(
        task_column=0, task_weights={1: np.inf}).fit(PT.X, PT.y),
     ValueError, "task_weights must be finite"),
    ("task_weights_wrong_length_per_task", lambda: DirtyRegressor(
        task_column=0, task_weights=[1.0, 2.0]).fit(PT.X, PT.y),
     ValueError, r"task_weights has shape \(2,\); expected \(3,\)"),
    ("task_weights_set", lambda: GroupLassoRegressor(task_weights={1.0, 2.0}).fit(SH.X, SH.y),
     ValueError, "task_weights must be None, 'samples', an array of numbers"),
    # ------------------------------------------------------------- parameters
    ("alpha_nan", lambda: TraceNormRegressor(alpha=np.nan).fit(SH.X, SH.y),
     PARAM, "'alpha' parameter"),
    ("alpha_inf", lambda: GroupLassoRegressor(alpha=np.inf).fit(SH.X, SH.y),
     PARAM, "'alpha' parameter.*Got inf"),
    ("alpha_string", lambda: IndependentClassifier(alpha="1").fit(CL.X, CL.y),
     PARAM, "'alpha' parameter"),
    ("beta_negative", lambda: DirtyRegressor(beta=-1.0).fit(SH.X, SH.y),
     PARAM, "'beta' parameter"),
    ("block_norm_unknown", lambda: DirtyClassifier(block_norm="l2").fit(CL.X, CL.y),
     PARAM, "'block_norm' parameter"),
    ("l1_ratio_above_one", lambda: SparseGroupLassoRegressor(l1_ratio=1.5).fit(SH.X, SH.y),
     PARAM, "'l1_ratio' parameter"),
    ("independent_penalty_unknown",
     lambda: IndependentRegressor(penalty="elasticnet").fit(SH.X, SH.y),
     PARAM, "'penalty' parameter"),
    ("solver_unknown", lambda: MeanRegularizedRegressor(solver="lbfgs").fit(SH.X, SH.y),
     PARAM, "'solver' parameter"),
    ("solver_bcd_trace_norm", lambda: TraceNormRegressor(solver="bcd").fit(SH.X, SH.y),
     ValueError, "does not support solver='bcd'.*row-separable penalty"),
    ("solver_admm_logistic", lambda: GroupLassoClassifier(solver="admm").fit(CL.X, CL.y),
     ValueError, "does not support solver='admm'.*need the squared loss"),
    ("solver_admm_dirty_positive", lambda: DirtyRegressor(solver="admm", positive=True).fit(
        SH.X, SH.y), ValueError, "solver='admm' needs"),
    ("max_iter_float", lambda: GroupLassoRegressor(max_iter=2.5).fit(SH.X, SH.y),
     PARAM, "'max_iter' parameter"),
    ("tol_nan", lambda: SparseGroupLassoClassifier(tol=np.nan).fit(CL.X, CL.y),
     PARAM, "'tol' parameter"),
    ("l2_reg_inf", lambda: MeanRegularizedClassifier(l2_reg=np.inf).fit(CL.X, CL.y),
     PARAM, "'l2_reg' parameter"),
    ("warm_start_string", lambda: GroupLassoRegressor(warm_start="yes").fit(SH.X, SH.y),
     PARAM, "'warm_start' parameter"),
    ("verbose_negative", lambda: TraceNormClassifier(verbose=-1).fit(CL.X, CL.y),
     PARAM, "'verbose' parameter"),
    # ------------------------------------------------------------- *CV estimators
    ("cv_alphas_negative", lambda: GroupLassoRegressorCV(alphas=[-1.0, 1.0]).fit(SH.X, SH.y),
     ValueError, "alphas must be finite and non-negative"),
    ("cv_alphas_nan", lambda: TraceNormClassifierCV(alphas=[np.nan]).fit(CL.X, CL.y),
     ValueError, "alphas must be finite and non-negative"),
    ("cv_alphas_empty", lambda: IndependentClassifierCV(alphas=[]).fit(CL.X, CL.y),
     ValueError, "alphas must be a non-empty"),
    ("cv_alphas_text", lambda: GroupLassoClassifierCV(alphas=["big"]).fit(CL.X, CL.y),
     ValueError, "alphas must be an array of numbers"),
    ("cv_n_alphas_zero", lambda: GroupLassoRegressorCV(n_alphas=0).fit(SH.X, SH.y),
     PARAM, "'n_alphas' parameter"),
    ("cv_eps_zero", lambda: DirtyClassifierCV(eps=0.0).fit(CL.X, CL.y),
     PARAM, "'eps' parameter"),
    ("cv_one_fold", lambda: MeanRegularizedClassifierCV(cv=1).fit(CL.X, CL.y),
     PARAM, "'cv' parameter"),
    ("cv_l1_ratios_above_one", lambda: SparseGroupLassoRegressorCV(l1_ratios=[2.0]).fit(
        SH.X, SH.y), PARAM, "'l1_ratio' parameter"),
    ("cv_l1_ratios_empty", lambda: SparseGroupLassoClassifierCV(l1_ratios=[]).fit(CL.X, CL.y),
     ValueError, "l1_ratios is empty"),
    ("cv_betas_negative", lambda: DirtyRegressorCV(betas=[-1.0]).fit(SH.X, SH.y),
     PARAM, "'beta' parameter"),
    ("cv_l2_regs_negative", lambda: MeanRegularizedRegressorCV(l2_regs=[-0.1]).fit(SH.X, SH.y),
     PARAM, "'l2_reg' parameter"),
    ("cv_unknown_keyword", lambda: GroupLassoRegressorCV(alpha=1.0), TypeError,
     r"unexpected keyword argument\(s\) \['alpha'\]"),
    ("cv_predict_before_fit", lambda: TraceNormRegressorCV().predict(SH.X),
     NotFittedError, "not fitted"),
    ("cv_predict_proba_before_fit", lambda: GroupLassoClassifierCV().predict_proba(CL.X),
     NotFittedError, "not fitted"),
    # ------------------------------------------------------------- paths
    ("path_foreign_estimator", lambda: regularization_path(Ridge(), SH.X, SH.y),
     TypeError, "estimator must be an mtlreg estimator"),
    ("path_cv_estimator", lambda: regularization_path(GroupLassoRegressorCV(), SH.X, SH.y),
     TypeError, "estimator must be an mtlreg estimator"),
    ("path_invalid_estimator_param", lambda: regularization_path(
        GroupLassoRegressor(tol=-1.0), SH.X, SH.y), PARAM, "'tol' parameter"),
    ("path_second_unknown", lambda: regularization_path(
        DirtyRegressor(), SH.X, SH.y, second=("gamma", [1.0])),
     ValueError, "second='gamma' is not a parameter of DirtyRegressor"),
    ("path_second_not_a_pair", lambda: regularization_path(
        DirtyRegressor(), SH.X, SH.y, second="beta"), ValueError, "second must be a pair"),
    ("path_second_bad_value", lambda: regularization_path(
        SparseGroupLassoRegressor(), SH.X, SH.y, second=("l1_ratio", [0.5, 3.0])),
     PARAM, "'l1_ratio' parameter"),
    ("path_alphas_3d", lambda: regularization_path(
        GroupLassoRegressor(), SH.X, SH.y, alphas=np.ones((1, 1, 2))),
     ValueError, r"alphas must be a non-empty 1-D array.*\(1, 1, 2\)"),
    ("path_alphas_rows_mismatch", lambda: regularization_path(
        DirtyRegressor(), SH.X, SH.y, alphas=np.ones((3, 2)), second=("beta", [0.1, 0.2])),
     ValueError, "alphas has 3 rows; expected 2"),
    ("path_n_alphas_zero", lambda: regularization_path(
        TraceNormRegressor(), SH.X, SH.y, n_alphas=0), ValueError, "n_alphas must be"),
    ("alpha_grid_eps_zero", lambda: alpha_grid(GroupLassoRegressor(), SH.X, SH.y, eps=0.0),
     ValueError, r"eps must be a float in \(0, 1\]"),
    ("alpha_grid_bad_param", lambda: alpha_grid(
        GroupLassoRegressor(), SH.X, SH.y, alpha=-2.0), PARAM, "'alpha' parameter"),
    # ------------------------------------------------------------- splitter
    ("splitter_one_split", lambda: TaskStratifiedKFold(1), ValueError, "n_splits must be"),
    ("splitter_float_splits", lambda: TaskStratifiedKFold(2.5), ValueError, "n_splits must"),
    ("splitter_bool_splits", lambda: TaskStratifiedKFold(True), ValueError, "n_splits must"),
    ("splitter_shuffle_string", lambda: TaskStratifiedKFold(shuffle="yes"),
     TypeError, "shuffle must be True or False"),
    ("splitter_random_state_without_shuffle", lambda: TaskStratifiedKFold(random_state=0),
     ValueError, "random_state has no effect since shuffle is False"),
    ("splitter_column_out_of_range", lambda: list(TaskStratifiedKFold(
        2, task_column=9).split(PT.X)), ValueError, "task_column=9 is out of range"),
    ("splitter_name_on_array", lambda: list(TaskStratifiedKFold(
        2, task_column="task").split(PT.X)), ValueError, "X must be a DataFrame"),
    ("splitter_name_not_in_frame", lambda: list(TaskStratifiedKFold(
        2, task_column="school").split(_frame(PT))), ValueError, "'school' is not a column"),
    ("splitter_nan_task", lambda: list(TaskStratifiedKFold(2).split(
        _with(PT.X, 0, 0, np.nan))), ValueError, "task column contains NaN"),
    ("splitter_mixed_labels", lambda: list(TaskStratifiedKFold(2, task_column="task").split(
        _frame(PT, [1, "b", 3]))), ValueError, "mixes numbers and strings"),
    ("splitter_1d_X", lambda: list(TaskStratifiedKFold(2).split(PT.X[:, 0])),
     ValueError, "X must be 2-D with a task column"),
    ("splitter_no_X", lambda: list(TaskStratifiedKFold(2).split(None)),
     TypeError, "Expected sequence or array-like, got <class 'NoneType'>"),
    ("splitter_more_splits_than_rows", lambda: list(TaskStratifiedKFold(50).split(PT.X[:10])),
     ValueError, "n_splits=50 greater than the number of samples"),
    # ------------------------------------------------------------- datasets
    ("dataset_zero_features", lambda: make_multitask_regression(n_features=0),
     ValueError, "n_features must be a positive integer"),
    ("dataset_zero_tasks", lambda: make_multitask_classification(n_tasks=0),
     ValueError, "n_tasks must be a positive integer"),
    ("dataset_zero_samples", lambda: make_multitask_regression(n_samples=0),
     ValueError, "n_samples must be a positive integer"),
    ("dataset_correlation_one", lambda: make_multitask_regression(correlation=1.0),
     ValueError, r"correlation must be a float in \[0, 1\)"),
    ("dataset_negative_noise", lambda: make_multitask_regression(noise=-1.0),
     ValueError, "noise must be a finite non-negative"),
    ("dataset_zero_signal", lambda: make_multitask_classification(signal=0.0),
     ValueError, "signal must be a finite positive"),
    ("dataset_unknown_layout", lambda: make_multitask_regression(layout="blocks"),
     ValueError, "layout must be 'shared' or 'per_task'"),
    ("dataset_unknown_structure", lambda: make_multitask_regression(structure="dense"),
     ValueError, "structure must be one of"),
    ("dataset_sizes_length", lambda: make_multitask_regression(
        n_samples=[5, 5], n_tasks=3, layout="per_task"), ValueError, "n_samples must be"),
    # ------------------------------------------------------------- defined warnings
    ("single_sample_task_warns", lambda: GroupLassoRegressor(task_column=0).fit(
        *_single_sample_task()), UserWarning, r"Task\(s\) \[9(\.0)?\] have a single labelled"),
    ("separable_classes_unpenalised_warns", lambda: GroupLassoClassifier(alpha=0.0).fit(
        *_separable()), ConvergenceWarning, r"perfectly separated.*Set l2_reg > 0"),
]


def _id(case):
    return case[0]


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
@pytest.mark.parametrize("case", CASES, ids=_id)
def test_bad_input(case):
    _, call, expected, match = case
    if issubclass(expected, Warning):
        with pytest.warns(expected, match=match):
            call()
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(expected, match=match) as info:
            call()
    # the error is raised in Python validation code, never from a numba kernel or
    # as a bare arithmetic error
    assert not isinstance(info.value, (ZeroDivisionError, FloatingPointError,
                                       OverflowError, IndexError, KeyError))
    assert "numba" not in "".join(str(tb.path) for tb in info.traceback[-1:])


def test_catalogue_size():
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert len(ids) >= 80
