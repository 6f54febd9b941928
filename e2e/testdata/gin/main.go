// A gin application that says what it acted on: its method, path and the
// struct c.ShouldBind fills (from a JSON body, a form or the query, by the
// Content-Type). Usage: ginapp ADDR
package main

import (
	"net/http"
	"os"

	"github.com/gin-gonic/gin"
)

// body is what a handler binds a request to: a JSON member, form field or
// query parameter of each name.
type body struct {
	AccessToken string `json:"access_token" form:"access_token"`
	Method      string `json:"_method" form:"_method"`
}

func main() {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Any("/*path", func(c *gin.Context) {
		var b body
		err := c.ShouldBind(&b)
		c.JSON(http.StatusOK, gin.H{"method": c.Request.Method, "path": c.Request.URL.Path,
			"params": gin.H{"access_token": b.AccessToken, "_method": b.Method, "bound": err == nil}})
	})
	if err := r.Run(os.Args[1]); err != nil {
		panic(err)
	}
}
