package policy

import "fmt"

// An allow entry that an inherited preset's deny entry always overrides can
// never take effect: deny wins. That is nearly always a mistake, an operator
// allowing a name the preset denies (allow_commands = ["curl"] without
// "!curl", local_only_vars = ["VAULT_TOKEN"]). Loading reports it, with the
// line that lifts the preset entry, instead of letting every call fail at
// run time. A deny written in the same file is taken as meant: deny wins is
// the documented rule, and the operator wrote both. Only entries that name
// one thing are checked (a literal path, an exact variable, a command, a
// host without wildcards): a glob may still allow other targets.

func (p *Policy) checkShadowed(probs *problems) {
	report := func(allow Entry, allowKey string, deny Entry, denyKey string) {
		if deny.From.Preset == "" {
			return
		}
		hint := fmt.Sprintf("add \"!%s\" to %s to lift the preset entry, or remove this one", deny.Value, denyKey)
		pr := Problem{File: allow.From.File, Line: allow.From.Line, Key: allowKey,
			Msg:  fmt.Sprintf("%q can never be allowed: %s %q (%s) denies it, and deny wins", allow.Value, denyKey, deny.Value, deny.From),
			Hint: hint}
		if allow.From.Preset != "" {
			pr.File = "preset " + allow.From.Preset
		}
		probs.add(pr)
	}
	for _, list := range [][]pathRule{p.fsRead, p.fsLocal, p.fsWrite, p.fsDelete} {
		for _, r := range list {
			if !r.literal {
				continue
			}
			if d := firstPathMatch(p.fsDeny, r.glob); d != nil {
				report(r.entry, r.key, d.entry, d.key)
			}
		}
	}
	for _, list := range [][]nameRule{p.envAllow, p.envLocal} {
		for _, r := range list {
			if r.glob {
				continue
			}
			if d := firstNameMatch(p.envDeny, r.entry.Value); d != nil {
				report(r.entry, r.key, d.entry, d.key)
			}
		}
	}
	for _, list := range [][]cmdRule{p.cmdAllow, p.cmdLocal} {
		for _, r := range list {
			for i := range p.cmdDeny {
				d := &p.cmdDeny[i]
				if d.name == r.name || (d.path != "" && d.path == r.path) {
					report(r.entry, r.key, d.entry, d.key)
					break
				}
			}
		}
	}
	hostLists := [][]hostRule{p.netLocal}
	for _, c := range capabilities {
		if c.Section == SectionNetwork {
			hostLists = append(hostLists, p.netAllow[c.Name])
		}
	}
	for _, list := range hostLists {
		for _, r := range list {
			if hasWild(r.pattern) {
				continue
			}
			if d := firstHostMatch(p.netDeny, r.pattern); d != nil {
				report(r.entry, r.key, d.entry, d.key)
			}
		}
	}
}
