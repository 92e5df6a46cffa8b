module github.com/multiproc/multiproc

go 1.24.0

require (
	github.com/creack/pty v1.1.24
	github.com/schollz/progressbar/v3 v3.18.0
	go.uber.org/goleak v1.3.0
	golang.org/x/sys v0.40.0
	golang.org/x/term v0.38.0
)

require (
	github.com/mitchellh/colorstring v0.0.0-20190213212951-d06e56a500db // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
)
