module hookseal.dev/snippet

go 1.19
