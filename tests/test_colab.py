from dcgan_lib.tooling import colab


def test_profile_and_message_per_runtime():
    profile, message = colab.choose_profile("Tesla T4")
    assert profile == "book" and "GPU (Tesla T4)" in message and 'PROFILE = "full"' in message
    profile, message = colab.choose_profile(None, 2)
    assert profile == "book" and "2-core CPU, no GPU" in message and "Change runtime type" in message


def test_setup_sets_the_profile_for_the_parameters_cell(monkeypatch, capsys):
    monkeypatch.setattr(colab, "gpu_name", lambda: "Tesla T4")
    environ = {}
    assert colab.setup(environ) == "book" and environ["DCGAN_PROFILE"] == "book"
    assert "GPU (Tesla T4)" in capsys.readouterr().out


def test_setup_keeps_a_profile_already_chosen(monkeypatch, capsys):
    monkeypatch.setattr(colab, "gpu_name", lambda: None)
    environ = {"DCGAN_PROFILE": "ci"}
    assert colab.setup(environ) == "ci" and environ == {"DCGAN_PROFILE": "ci"}
    assert "Profile: ci (set by DCGAN_PROFILE)" in capsys.readouterr().out
