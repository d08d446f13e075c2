package demo.lib;

/** A dependency: packaged as its own jar under BOOT-INF/lib. */
public class Greeting {
    public static String hello() {
        return "hello from BOOT-INF/lib";
    }
}
