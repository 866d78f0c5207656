"""The playground's settings as a ``chainrule train --config`` TOML file."""
import tomli_w

# chainrule train knows these built-in sets by the same name.
TRAIN_DATASETS = ("xor", "circles", "moons", "spirals")


def train_config(settings, data, epochs):
    """TOML text that ``chainrule train --config`` reads, with notes on what differs."""
    notes = []
    config = {}
    if settings["dataset"] == "csv":
        name = "data.csv"
        config.update(csv=name, target=settings["target"])
        notes.append(f"csv: put the path of the uploaded file here (the page knew it as an "
                     f"upload); target column {settings['target']!r}")
    elif settings["dataset"] in TRAIN_DATASETS:
        config["dataset"] = settings["dataset"]
        notes.append("chainrule train draws the built-in set with its default size, noise "
                     "and split; the playground had "
                     f"{settings['points']} points, noise {settings['noise']:g}, test "
                     f"fraction {settings['test_fraction']:g}")
    else:
        notes.append(f"the data set {settings['dataset']!r} exists only in the playground; "
                     f"set dataset = ... or csv = ... and target = ... yourself")
    config["task"] = data.task
    config["hidden"] = list(settings["hidden"])
    acts = settings["activations"]
    config["activation"] = acts[0] if acts else "relu"
    if len(set(acts)) > 1:
        notes.append(f"chainrule train uses one activation for every hidden layer; the "
                     f"playground had {', '.join(acts)}")
    config["dropout"] = settings["dropout"]
    config["optimizer"] = settings["optimizer"]
    config["lr"] = settings["lr"]
    config["momentum"] = 0.0
    config["batch_size"] = "full" if settings["batch_size"] == "full" else settings["batch_size"]
    config["l1"] = settings["l1"]
    config["l2"] = settings["l2"]
    config["epochs"] = max(1, int(epochs))
    config["seed"] = settings["seed"]
    expected = "cross_entropy" if data.task == "classification" else "squared_error"
    if settings["loss"] != expected:
        notes.append(f"chainrule train uses {expected.replace('_', ' ')} for a "
                     f"{data.task} task; the playground used {settings['loss']}")
    head = ["# chainrule train --config this-file.toml", "# exported from chainrule playground"]
    head += [f"# note: {n}" for n in notes]
    return "\n".join(head) + "\n" + tomli_w.dumps(config)
