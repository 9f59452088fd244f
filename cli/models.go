package cli

import (
	"strings"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/examples"
	"github.com/kyojin/kyojin/model"
)

// examplePrefix names a model bundled in the binary: "example:kakuu-city".
const examplePrefix = "example:"

// loadModel loads a model from a path, or from the examples embedded in the
// binary when the path is "example:NAME".
func loadModel(path string) (*model.Model, diag.List) {
	if name, ok := strings.CutPrefix(path, examplePrefix); ok {
		return model.LoadFS(examples.FS, name, examplePrefix)
	}
	return model.Load(path)
}
