package iam

import "github.com/tipctl/tipctl/sandbox/awsproto"

// iamWrites are the operations that change IAM; they take the sandbox's
// write lock themselves.
var iamWrites = map[string]func(*Service, *request) (any, *awsproto.Error){}
