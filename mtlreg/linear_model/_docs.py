"""Docstring pieces shared by every estimator."""

_COMMON_PARAMS_DOC = """
    fit_intercept : bool, default=True
        Fit one intercept per task.
    intercept_reg : float, default=0.0
        Shrinks the intercepts toward a shared one: adds
        ``intercept_reg / 2 * sum_t lambda_t (b_t - b_bar)^2`` to the objective, with
        ``lambda_t`` the task weights of the data term (``task_weights``), ``b_t`` the
        intercept of task ``t`` in the original feature space (``intercept_[t]``) and
        ``b_bar`` a free shared intercept, minimised over too (``shared_intercept_``,
        the ``lambda``-weighted mean of the intercepts). ``0.0``: free, unpenalised
        intercepts (a random-intercept model's fixed-effects limit); large values:
        one common intercept. With ``intercept_reg > 0`` a classifier also fits tasks
        whose samples are all of one class (their intercept is pulled toward
        ``b_bar``), and ``unseen_tasks="shared"`` predicts with ``b_bar``. No effect
        with ``fit_intercept=False``. Tuned by the ``*CV`` twins' ``intercept_regs``.
    task_column : int, str or None, default=None
        ``None``: shared design, ``y`` is ``(n_samples, n_tasks)``. Otherwise the
        column of ``X`` (index, or name for a DataFrame) that holds each row's task
        (labels all numbers or all strings; a mix is an error); ``y`` is then 1-D
        and a NaN in it is a missing label, left out of the loss as in the shared
        layout. ``predict`` reads the same column; a task not seen in ``fit`` is an
        error (a ``ValueError`` naming
        :class:`~mtlreg.model_selection.TaskStratifiedKFold`, the splitter that
        keeps every task in every training fold) unless the formulation has an
        ``unseen_tasks`` option. With ``fit_intercept``, a task with a single
        labelled sample warns: the intercept fits it and the penalty alone sets
        the task's coefficients.
    task_weights : None, "samples", array-like of shape (n_tasks,) or dict, default=None
        The weights ``lambda_t`` of the task losses. ``None``: every task's mean loss
        counts equally (``lambda_t = 1``); ``"samples"``: every sample counts
        equally (``lambda_t = T n_t / sum_s n_s``); an array in the order of
        ``tasks_`` or a dict ``{task: weight}`` (unnamed tasks get 1), e.g. to
        favour a main task over auxiliary ones. Tunable with ``GridSearchCV``.
    l2_reg : float, default=%(l2_default)s
        Strength of the optional ridge term ``(l2_reg / 2) ||W||_F^2``.
    tol : float, default=1e-4
        Relative tolerance: the solver stops when the optimality measure (distance
        of ``-gradient`` to the subdifferential, and the intercept gradient) falls
        below ``tol`` times the largest entry of the data-fit gradient at ``W = 0``.
        The promise: without a ``ConvergenceWarning`` that measure, recomputed at
        the returned coefficients (``stop_crit_``), is at most ``tol`` times that
        scale. It bounds no objective gap: on ill-conditioned data the objective can
        stop well above the optimum in relative terms; lower ``tol`` for many digits.
    max_iter : int, default=1000
        Maximum number of solver iterations (FISTA or ADMM iterations, BCD sweeps).
    warm_start : bool, default=False
        Start from the previous solution when refitting on the same tasks and features.
    %(solver)s
    verbose : int, default=0
        Print the solver's progress every 10 iterations.
"""

UNSEEN_TASKS_DOC = """unseen_tasks : {{"error", "shared"}}, default="error"
        What ``predict`` (and ``score``, ``decision_function``, ...) do with a row
        of a task not seen in ``fit`` (per-task layout): ``"error"`` raises a
        ``ValueError`` naming the tasks; ``"shared"`` predicts it with
        {shared} (for tasks that arrive after fitting: a new school, a new patient).
    """


_ATTRIBUTES_DOC = """
    coef_ : ndarray of shape (n_tasks, n_features)
        ``W.T``: row ``t`` holds the coefficients of task ``tasks_[t]`` (as in
        :class:`~sklearn.linear_model.MultiTaskLasso`).
    intercept_ : ndarray of shape (n_tasks,)
        The intercept of each task (zeros when ``fit_intercept=False``).
    shared_intercept_ : float
        ``b_bar``: the ``lambda_t``-weighted mean of ``intercept_``, the centre the
        intercepts are shrunk toward with ``intercept_reg > 0`` (0 when
        ``fit_intercept=False``).
    tasks_ : ndarray of shape (n_tasks,)
        The task labels: ``0 .. n_tasks - 1`` in the shared layout, the sorted
        distinct values of the task column otherwise.
    n_tasks_ : int
    n_iter_ : int
        Number of solver iterations run.
    stop_crit_ : float
        Optimality measure at the returned solution.
    objective_ : float
        Value of the objective at the returned solution.
    n_features_in_ : int
        Number of columns of ``X`` seen in ``fit`` (the task column included).
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Defined only when ``X`` has string column names.
"""


ALL_SOLVERS = ("auto", "fista", "admm", "bcd")
# the logistic loss: ADMM and BCD need the squared loss; Newton solves its quadratic models
LOGISTIC_SOLVERS = ("auto", "newton", "fista")

_SOLVER_DOC = {
    "fista": "``\"fista\"``: accelerated proximal gradient, any loss and penalty.",
    "admm": ("``\"admm\"``: exact per-task solves (squared loss with few features; every "
             "penalty, the dirty model without ``positive`` or ``l2_reg``); hardly "
             "sensitive to feature scaling."),
    "bcd": ("``\"bcd\"``: block coordinate descent (squared loss with few features or "
            "a dense design; row-separable penalties), with working sets on a dense "
            "design."),
    "newton": ("``\"newton\"``: proximal Newton (IRLS) for the logistic loss: each "
               "iteration builds the per-task Hessians (Gram form, ``k = n_features + 1``) "
               "and solves the penalised quadratic model with ADMM (BCD, or FISTA where "
               "those do not apply), then a line search on the objective; hardly "
               "sensitive to feature scaling. ``max_iter`` counts Newton iterations."),
}
_AUTO_DOC = {
    ALL_SOLVERS: ("``\"auto\"``: ADMM where it applies, else BCD where it applies (on "
                  "per-task data with many features: for the sparsity-inducing penalties "
                  "only), else FISTA (and the direct solve for the mean-regularized squared "
                  "loss); on a shared design with a sparsity-inducing penalty, BCD on ``X`` "
                  "unless ``n_features + 1 <= 4 n_tasks``. All reach the same optimum."),
    ("auto", "fista", "admm"): ("``\"auto\"``: ADMM where it applies (few features), "
                                "else FISTA. Both reach the same optimum."),
    LOGISTIC_SOLVERS: ("``\"auto\"``: Newton when ``n_features + 1 <= 256`` and "
                       "``n_tasks (n_features + 1)^2 <= 4e6`` (the Hessians stay small), "
                       "else FISTA; FISTA for Dask input. Both reach the same optimum."),
}


def fill_solver_doc(doc, solvers):
    """``doc`` with its ``%(solver)s`` entry describing ``solvers``."""
    return doc.replace("%(solver)s", _solver_doc(tuple(solvers))) if doc else doc


def _solver_doc(solvers):
    import textwrap

    names = ", ".join(f'"{s}"' for s in solvers)
    auto = _AUTO_DOC.get(solvers, "``\"auto\"``: the fastest of these that applies.")
    body = " ".join([_SOLVER_DOC[s] for s in solvers if s != "auto"] + [auto])
    body += (" A callable with the signature of ``mtlreg.solvers.fista`` is used as the "
             "solver: ``mtlreg.torch.TorchFISTA()`` runs FISTA on torch tensors (CPU or "
             "GPU; every formulation but the dirty models).")
    lines = textwrap.wrap(body, 80, initial_indent=" " * 8, subsequent_indent=" " * 8)
    return f'solver : {{{names}}} or callable, default="auto"\n' + "\n".join(lines)


def fill_doc(template, l2_default="0.0"):
    """Insert the parameters and attributes every estimator shares into a docstring.

    The ``solver`` entry is left as ``%(solver)s``: the class fills it from the solvers
    it accepts (``_solvers``, see ``fill_solver_doc``), so the two cannot disagree."""
    params = _COMMON_PARAMS_DOC.strip("\n").lstrip().replace("%(l2_default)s", l2_default)
    return template.replace("%(params)s", params).replace(
        "%(attributes)s", _ATTRIBUTES_DOC.strip("\n").lstrip()
    )


# loss and data-term pieces of the formulations' docstrings
SQUARED_DOC = r":math:`\ell(y, z) = \frac{1}{2} (y - z)^2`"
LOGISTIC_DOC = r":math:`\ell(y, z) = \log(1 + e^z) - y z` for labels :math:`y \in \{0, 1\}`"
CLASSES_DOC = "classes_ : ndarray of shape (2,)\n        The two class labels.\n    "
# (braces doubled: the templates below go through str.format)
DATA_TERM = (r"\sum_t \frac{{\lambda_t}}{{n_t}} \sum_{{i \in t}} s_i \,"
              r" \ell(y_i, x_i^\top w_t + b_t)")
RIDGE_DOC = r"\frac{{\mathrm{{l2\_reg}}}}{{2}} \lVert W \rVert_F^2"
