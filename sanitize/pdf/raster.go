package pdf

import (
	"context"
	"io"

	"github.com/kyojin/kyojin/sanitize"
)

func (h *Handler) raster(ctx context.Context, in *sanitize.Input, data []byte, w io.Writer) (*sanitize.Result, error) {
	return nil, ErrRenderer
}
