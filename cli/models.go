package cli

import (
	"io/fs"
	"strings"

	"github.com/kyojin/kyojin/assess"
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

// readAssessment reads an assessment file from a path, or from the
// examples embedded in the binary when the path is "example:DIR/FILE".
func readAssessment(path string) (*assess.Assessment, diag.List) {
	if name, ok := strings.CutPrefix(path, examplePrefix); ok {
		data, err := fs.ReadFile(examples.FS, name)
		if err != nil {
			var d diag.List
			d.Add(diag.Diagnostic{File: path, Severity: diag.Error, Code: "read",
				Msg: diag.T("同梱の評価ファイルがありません: "+name, "no bundled assessment file "+name)})
			return nil, d
		}
		return assess.Parse(path, data)
	}
	return assess.LoadFile(path)
}
