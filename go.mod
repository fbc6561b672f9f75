module github.com/tipctl/tipctl

go 1.26.8

require (
	github.com/aws/aws-sdk-go-v2 v1.47.7
	github.com/go-jose/go-jose/v4 v4.1.8
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/aws/smithy-go v1.28.8 // indirect
	github.com/niemeyer/pretty v0.0.0-20200227124842-a10e7caefd8e // indirect
	gopkg.in/check.v1 v1.0.0-20200902074654-038fdea0a05b // indirect
)
