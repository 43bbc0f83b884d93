package runner

import "testing"

func TestZZStepsProgress(t *testing.T) {
	p := newProject(t, basePolicy+"max_steps = 20000\n", map[string]string{"src/a.txt": "alpha\n", "secrets/token": secretValue})
	res := p.run("print('before')\ns = env.read('RUN_SECRET')\nfor i in range(len(s)*50):\n    pass\nfor i in range(100000):\n    print(i)")
	t.Logf("kind=%s stdout=%q err=%s charged=%+v", res.ExitKind, res.Stdout[:min(len(res.Stdout), 200)], res.Error, res.Charged)
	res = p.run("print('before')\ns = env.read('RUN_SECRET')\nx = 'a' * 10\nfor i in range(100000):\n    print(i)\n    x += 'abcdefghij' * 1000")
	t.Logf("kind=%s stdout=%q err=%s charged=%+v", res.ExitKind, res.Stdout[:min(len(res.Stdout), 200)], res.Error, res.Charged)
}
