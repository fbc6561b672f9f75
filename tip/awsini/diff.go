package awsini

import (
	"fmt"
	"strings"
)

// Diff returns a unified diff (3 lines of context) from old to new, or ""
// when they are equal. name labels both sides.
func Diff(name string, old, new []byte) string {
	a, b := Parse(old).lines, Parse(new).lines
	ops := diffLines(a, b)
	changed := false
	for _, o := range ops {
		if o.kind != ' ' {
			changed = true
			break
		}
	}
	if !changed {
		return ""
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", name, name)
	const ctx = 3
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		// A hunk: from ctx lines before this change to ctx lines after the
		// last change that is within 2*ctx of the previous one.
		start := max(0, i-ctx)
		end := i
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j + 1
				continue
			}
			if j-end >= 2*ctx {
				break
			}
		}
		stop := min(len(ops), end+ctx)
		aStart, bStart, aLen, bLen := -1, -1, 0, 0
		for _, o := range ops[start:stop] {
			if o.kind != '+' {
				if aStart < 0 {
					aStart = o.a
				}
				aLen++
			}
			if o.kind != '-' {
				if bStart < 0 {
					bStart = o.b
				}
				bLen++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aStart, aLen, ops[start].a), hunkRange(bStart, bLen, ops[start].b))
		for _, o := range ops[start:stop] {
			text := o.text
			out.WriteByte(o.kind)
			out.WriteString(strings.TrimRight(text, "\r\n"))
			out.WriteByte('\n')
			if !strings.HasSuffix(text, "\n") {
				out.WriteString("\\ No newline at end of file\n")
			}
		}
		i = stop
	}
	return out.String()
}

func hunkRange(start, n, at int) string {
	if n == 0 {
		// An empty range names the line before it.
		return fmt.Sprintf("%d,0", at)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

type diffOp struct {
	kind byte // ' ', '-', '+'
	a, b int  // line index in old and new (position for inserts/deletes)
	text string
}

// diffLines returns an edit script from a to b: common prefix and suffix,
// and a longest common subsequence of the rest when it is small enough
// (edits of one profile always are), else the rest replaced as a block.
func diffLines(a, b []string) []diffOp {
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	var ops []diffOp
	for i := 0; i < p; i++ {
		ops = append(ops, diffOp{' ', i, i, a[i]})
	}
	ma, mb := a[p:len(a)-s], b[p:len(b)-s]
	if len(ma)*len(mb) <= 1<<22 {
		ops = append(ops, lcsOps(ma, mb, p)...)
	} else {
		for i, l := range ma {
			ops = append(ops, diffOp{'-', p + i, p, l})
		}
		for j, l := range mb {
			ops = append(ops, diffOp{'+', p + len(ma), p + j, l})
		}
	}
	for k := 0; k < s; k++ {
		i, j := len(a)-s+k, len(b)-s+k
		ops = append(ops, diffOp{' ', i, j, a[i]})
	}
	return ops
}

func lcsOps(a, b []string, off int) []diffOp {
	n, m := len(a), len(b)
	// dp[i][j] = LCS length of a[i:], b[j:].
	dp := make([][]int32, n+1)
	for i := range dp {
		dp[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, diffOp{' ', off + i, off + j, a[i]})
			i++
			j++
		case i < n && (j == m || dp[i+1][j] >= dp[i][j+1]):
			ops = append(ops, diffOp{'-', off + i, off + j, a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', off + i, off + j, b[j]})
			j++
		}
	}
	return ops
}
