// Package docs embeds the documentation pages the programs serve
// themselves, so what a client reads is the page in this directory.
package docs

import _ "embed"

// ScriptAPI is running-scripts.md, the reference of the script API.
// aegis-mcp serves it as the resource aegis://docs/script-api.
//
//go:embed running-scripts.md
var ScriptAPI string
