module github.com/multiproc/multiproc

go 1.24
